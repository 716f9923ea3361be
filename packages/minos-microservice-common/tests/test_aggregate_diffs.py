"""Diffs: building, reading, encoding (they travel in events) and applying them."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minos.common import (
    Action,
    Aggregate,
    AggregateDiff,
    Entity,
    EntitySet,
    FieldDiff,
    FieldDiffContainer,
    IncrementalFieldDiff,
    MinosAggregateException,
    MinosPreviousVersionSnapshotException,
    RepositoryEntry,
    ValueObject,
    ValueObjectSet,
    decode_value,
    encode_value,
)
from minos.common.model import to_json_data


class Money(ValueObject):
    amount: Decimal
    currency: str


class Item(Entity):
    name: str
    price: Money


class Label(ValueObject):
    text: str


class Cart(Aggregate):
    owner: str
    total: Money | None
    notes: list[str]
    extra: dict[str, int]
    items: EntitySet[Item]
    labels: ValueObjectSet[Label]


def cart(**fields):
    values = {
        "owner": "ana",
        "total": None,
        "notes": [],
        "extra": {},
        "items": EntitySet(),
        "labels": ValueObjectSet(),
    }
    values.update(fields)
    return Cart(**values)


def test_field_diffs_hold_values_of_any_type():
    diffs = [
        FieldDiff("owner", "ana"),
        FieldDiff("total", Money(Decimal("9.99"), "EUR")),
        FieldDiff("notes", ["a", "b"]),
        FieldDiff("total", None),
        IncrementalFieldDiff("labels", Label("gift"), Action.CREATE),
        IncrementalFieldDiff("labels", Label("old"), "delete"),
    ]
    container = FieldDiffContainer(diffs)
    decoded = decode_value(encode_value(container))
    assert isinstance(decoded, FieldDiffContainer)
    assert decoded == container
    assert decoded["total"].value is None
    assert [d.action for d in decoded["labels"]] == [Action.CREATE, Action.DELETE]
    assert all(isinstance(d, IncrementalFieldDiff) for d in decoded["labels"])
    assert list(decoded.keys()) == ["owner", "total", "notes", "labels"]
    assert "notes" in decoded and "nope" not in decoded and len(decoded) == 4
    assert FieldDiff("a", 1) == FieldDiff("a", 1) != FieldDiff("a", 2)
    assert FieldDiff("a", 1) != IncrementalFieldDiff("a", 1)
    assert repr(FieldDiff("a", 1)) == "FieldDiff(name='a', value=1)"
    assert dict(FieldDiff("a", [1])) == {"name": "a", "value": [1]}
    with pytest.raises(MinosAggregateException, match="needs a value"):
        FieldDiff("a")


def test_aggregate_diff_is_a_model_that_round_trips():
    diff = AggregateDiff.from_aggregate(cart(notes=["x"], extra={"k": 1}))
    decoded = decode_value(encode_value(diff))
    assert isinstance(decoded, AggregateDiff)
    assert decoded == diff
    assert decoded.action is Action.CREATE and decoded.version == 1
    assert decoded.created_at.tzinfo is not None
    fields = {
        k: v.value if isinstance(v, FieldDiff) else v
        for k, v in decoded.fields_diff.items()
    }
    assert fields["notes"] == ["x"] and fields["extra"] == {"k": 1}
    rendered = to_json_data(diff)
    assert rendered["uuid"] == str(diff.uuid) and rendered["action"] == "create"
    assert [d["name"] for d in rendered["fields_diff"]["diffs"]] == list(fields)
    assert AggregateDiff.from_avro_bytes(diff.avro_bytes) == diff


def test_difference_of_plain_and_set_fields():
    pen = Item("pen", Money(Decimal("1.50"), "EUR"))
    old = cart(items=EntitySet([pen]), labels=ValueObjectSet([Label("a")]))
    old._mark_persisted()
    old.__dict__["version"] = 3  # as if loaded at version 3
    old.notes.append("n")
    old.items.add(Item("ink", Money(Decimal("3"), "EUR")))
    old.items.add(Item("pen", Money(Decimal("2.00"), "EUR"), uuid=pen.uuid))
    old.labels.discard(Label("a"))

    diff = old.diff()
    assert (diff.action, diff.version) == (Action.UPDATE, 4)
    assert list(diff.fields_diff) == ["notes", "items", "labels"]
    assert diff.get_one("notes") == ["n"]
    items = diff.get_one("items", return_diff=True)
    assert {(d.action, d.value.name) for d in items} == {
        (Action.CREATE, "ink"),
        (Action.UPDATE, "pen"),
    }
    assert diff.get_one("labels") == [Label("a")]
    assert sorted(diff.get_all()) == ["items", "labels", "notes"]
    with pytest.raises(MinosAggregateException, match="has no field 'owner'"):
        diff.get_one("owner")

    topics = [topic for topic, _ in diff.topics()]
    assert topics[0] == "CartUpdated"
    assert sorted(topics[1:]) == [
        "CartUpdated.items.create",
        "CartUpdated.items.update",
        "CartUpdated.labels.delete",
        "CartUpdated.notes",
    ]
    parts = diff.decompose()
    assert len(parts) == 4
    assert all(len(part.fields_diff.diffs) == 1 for part in parts)
    assert all(part.version == 4 and part.uuid == old.uuid for part in parts)


def test_creation_and_deletion_diffs():
    fresh = cart()
    created = AggregateDiff.from_aggregate(fresh)
    assert [t for t, _ in created.topics()] == ["CartCreated"]
    rebuilt = Cart.from_diff(created)
    assert rebuilt.state_fields() == fresh.state_fields()
    assert rebuilt.version == 1 and rebuilt.created_at == created.created_at
    deleted = AggregateDiff.from_deleted_aggregate(rebuilt)
    assert (deleted.action, deleted.version) == (Action.DELETE, 2)
    assert [t for t, _ in deleted.topics()] == ["CartDeleted"]
    assert not deleted.fields_diff
    with pytest.raises(MinosAggregateException, match="creation"):
        Cart.from_diff(deleted)


def test_applying_diffs_checks_identity_and_order():
    one = Cart.from_diff(AggregateDiff.from_aggregate(cart()))
    other = Cart.from_diff(AggregateDiff.from_aggregate(cart()))
    one.owner = "bea"
    change = one.diff()
    with pytest.raises(MinosAggregateException, match="Cannot apply"):
        other.apply_diff(change)
    one.apply_diff(change)
    assert one.version == 2
    with pytest.raises(MinosPreviousVersionSnapshotException, match="not newer"):
        one.apply_diff(change)


def test_repository_entries_hold_the_encoded_fields():
    diff = AggregateDiff.from_aggregate(cart(owner="ünïcode ' ;--"))
    entry = diff.to_repository_entry()
    assert (entry.aggregate_uuid, entry.version, entry.action) == (
        diff.uuid,
        1,
        Action.CREATE,
    )
    back = AggregateDiff.from_repository_entry(entry.stored(7, 1, diff.created_at))
    assert back == diff
    bad = RepositoryEntry(uuid4(), "x.Cart", 1, encode_value([1, 2]), Action.CREATE)
    with pytest.raises(MinosAggregateException, match="does not hold field diffs"):
        AggregateDiff.from_repository_entry(bad)


labels = st.sampled_from(["a", "b", "c", "d"])
steps = st.lists(
    st.one_of(
        st.tuples(st.just("owner"), st.text(max_size=8)),
        st.tuples(st.just("note"), st.text(max_size=5)),
        st.tuples(
            st.just("extra"),
            st.dictionaries(st.sampled_from("xyz"), st.integers(-(2**63), 2**63 - 1)),
        ),
        st.tuples(st.just("label+"), labels),
        st.tuples(st.just("label-"), labels),
        st.tuples(st.just("item+"), st.integers(0, 3)),
        st.tuples(st.just("item-"), st.integers(0, 3)),
        st.tuples(
            st.just("total"),
            st.none() | st.decimals(places=2, allow_nan=False, allow_infinity=False),
        ),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_replaying_random_changes_rebuilds_the_state_exactly(changes):
    uuids = [uuid4() for _ in range(4)]
    created = AggregateDiff.from_aggregate(cart())
    live = Cart.from_diff(created)
    history = [created]
    for kind, value in changes:
        if kind == "owner":
            live.owner = value
        elif kind == "note":
            live.notes.append(value)
        elif kind == "extra":
            live.extra = value
        elif kind == "label+":
            live.labels.add(Label(value))
        elif kind == "label-":
            live.labels.discard(Label(value))
        elif kind == "item+":
            live.items.add(
                Item(f"i{value}", Money(Decimal(value), "EUR"), uuid=uuids[value])
            )
        elif kind == "item-":
            live.items.discard(uuids[value])
        else:
            live.total = None if value is None else Money(value, "EUR")
        diff = live.diff()
        if diff.fields_diff:
            travelled = decode_value(encode_value(diff))
            history.append(travelled)
            live.apply_diff(diff)

    rebuilt = Cart.from_diff(history[0])
    for diff in history[1:]:
        rebuilt.apply_diff(diff)
    assert rebuilt == live
    assert rebuilt.version == len(history)
