"""Every supported field type: what it accepts, converts and rejects."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any, Optional, Union
from uuid import UUID

import pytest

from minos.common import (
    DeclarativeModel,
    Entity,
    EntitySet,
    MinosMalformedAttributeException,
    MinosReqAttributeException,
    MinosTypeAttributeException,
    ModelRef,
    SetDiff,
    ValueObject,
    ValueObjectSet,
)


class Color(str, Enum):  # noqa: UP042 - the str mix-in is what is tested
    RED = "red"
    BLUE = "blue"


class Size(Enum):
    SMALL = 1
    LARGE = 2


class Inventory(DeclarativeModel):
    count: int
    where: Optional[str]  # noqa: UP045 - the typing spelling is what is tested


class Warehouse(DeclarativeModel):
    stock: list[dict[str, Optional[Inventory]]]  # noqa: UP045


class Tag(ValueObject):
    label: str


class Page(Entity):
    number: int


class Chapter(Entity):
    title: str
    pages: EntitySet[Page]
    tags: ValueObjectSet[Tag]


class Person(Entity):
    name: str


class Loan(DeclarativeModel):
    person: ModelRef[Person]


def _holder(hint: Any) -> type[DeclarativeModel]:
    """A one-field model class for the given type."""
    return type("Holder", (DeclarativeModel,), {"__annotations__": {"value": hint}})


NOW = datetime(2024, 5, 17, 10, 30, 15, 123456, tzinfo=UTC)
UUID_VALUE = UUID("a2d6fa8f-4d6e-4b8f-9a57-1e1c4b3c2b10")

VALID = [
    (int, 5, 5),
    (int, -(2**63), -(2**63)),
    (float, 2.5, 2.5),
    (float, 2, 2.0),
    (str, "text", "text"),
    (bool, True, True),
    (bytes, b"\x00\x01", b"\x00\x01"),
    (bytes, bytearray(b"ab"), b"ab"),
    (datetime, NOW, NOW),
    (datetime, "2024-05-17T10:30:15.123456+00:00", NOW),
    (datetime, datetime(2024, 5, 17, 10, 30, 15, 123456), NOW),
    (datetime, NOW.astimezone(timezone(timedelta(hours=2))), NOW),
    (date, date(2024, 5, 17), date(2024, 5, 17)),
    (date, "2024-05-17", date(2024, 5, 17)),
    (time, time(10, 30, 1, 5), time(10, 30, 1, 5)),
    (time, "10:30:01", time(10, 30, 1)),
    (timedelta, timedelta(days=2, microseconds=3), timedelta(days=2, microseconds=3)),
    (timedelta, 1.5, timedelta(seconds=1.5)),
    (UUID, UUID_VALUE, UUID_VALUE),
    (UUID, str(UUID_VALUE), UUID_VALUE),
    (Decimal, Decimal("1.2300"), Decimal("1.2300")),
    (Decimal, "10.5", Decimal("10.5")),
    (Decimal, 3, Decimal(3)),
    (Color, Color.RED, Color.RED),
    (Color, "blue", Color.BLUE),
    (Size, 2, Size.LARGE),
    (list[int], [1, 2], [1, 2]),
    (list[int], (1, 2), [1, 2]),
    (list[float], [1, 2.5], [1.0, 2.5]),
    (dict[str, int], {"a": 1}, {"a": 1}),
    (set[str], {"a", "b"}, {"a", "b"}),
    (set[int], [1, 1, 2], {1, 2}),
    (Optional[int], None, None),  # noqa: UP045
    (Optional[int], 3, 3),  # noqa: UP045
    (int | None, 3, 3),
    (Any, object, object),
    (Inventory, {"count": 1}, Inventory(1, None)),
]


@pytest.mark.parametrize(("hint", "given", "expected"), VALID)
def test_accepted_values(hint: Any, given: Any, expected: Any) -> None:
    value = _holder(hint)(given).value
    assert value == expected
    assert type(value) is type(expected)


INVALID = [
    (int, "5"),
    (int, 5.0),
    (int, True),
    (int, 2**63),
    (float, "2.5"),
    (float, None),
    (str, 5),
    (str, b"text"),
    (bool, 1),
    (bytes, "text"),
    (datetime, "yesterday"),
    (datetime, date(2024, 1, 1)),
    (date, NOW),
    (date, "2024-13-01"),
    (time, time(1, 2, tzinfo=UTC)),
    (timedelta, "1 day"),
    (UUID, "not-a-uuid"),
    (UUID, 12),
    (Decimal, "ten"),
    (Decimal, Decimal("NaN")),
    (Color, "green"),
    (Size, "SMALL"),
    (list[int], "12"),
    (list[int], {1, 2}),
    (list[int], [1, "2"]),
    (dict[str, int], {1: 1}),
    (dict[str, int], {"a": "b"}),
    (dict[str, int], [("a", 1)]),
    (set[int], [[1]]),
    (Optional[int], "x"),  # noqa: UP045
    (Inventory, {"count": "many"}),
    (Inventory, 3),
]


@pytest.mark.parametrize(("hint", "given"), INVALID)
def test_rejected_values_name_the_field(hint: Any, given: Any) -> None:
    with pytest.raises(MinosTypeAttributeException) as error:
        _holder(hint)(given)
    assert "Holder.value" in str(error.value)
    assert error.value.field == "value"


def test_type_error_message_names_expected_type_and_value() -> None:
    with pytest.raises(MinosTypeAttributeException) as error:
        _holder(list[int])([1, "two"])
    message = str(error.value)
    assert "Holder.value[1]" in message
    assert "expected int" in message
    assert "'two' (str)" in message


def test_nested_error_message_locates_the_inner_field() -> None:
    with pytest.raises(MinosTypeAttributeException) as error:
        Warehouse([{"a": {"count": 1}}, {"b": {"count": "x"}}])
    message = str(error.value)
    assert "Warehouse.stock[1]['b']" in message
    assert "Inventory.count" in message


def test_nested_missing_field_keeps_its_exception_class() -> None:
    with pytest.raises(MinosReqAttributeException, match=r"Inventory\.count"):
        Warehouse([{"a": {"where": "here"}}])


def test_deeply_nested_types() -> None:
    warehouse = Warehouse([{"a": {"count": 1}, "b": None}, {}])
    assert warehouse.stock == [{"a": Inventory(1, None), "b": None}, {}]


class Ordered(DeclarativeModel):
    number_or_text: Union[int, str]  # noqa: UP007 - the typing spelling is tested
    float_or_int: Union[float, int]  # noqa: UP007
    text_or_uuid: Union[str, UUID]  # noqa: UP007
    uuid_or_text: Union[UUID, str]  # noqa: UP007
    model_or_text: Union[Inventory, str]  # noqa: UP007


def test_union_takes_the_first_accepting_branch_in_declared_order() -> None:
    text = str(UUID_VALUE)
    ordered = Ordered(
        number_or_text="7",
        float_or_int=7,
        text_or_uuid=text,
        uuid_or_text=text,
        model_or_text={"count": 1},
    )
    assert ordered.number_or_text == "7"
    assert type(ordered.float_or_int) is float
    assert ordered.text_or_uuid == text
    assert ordered.uuid_or_text == UUID_VALUE
    assert ordered.model_or_text == Inventory(1, None)
    ordered.float_or_int = 2.5
    assert ordered.float_or_int == 2.5
    with pytest.raises(MinosTypeAttributeException, match=r"Ordered\.number_or_text"):
        ordered.number_or_text = 1.5


def test_enum_members_and_values() -> None:
    holder = _holder(Color)
    assert holder("red").value is Color.RED
    assert holder(Color.BLUE).value is Color.BLUE
    with pytest.raises(MinosTypeAttributeException, match="'red', 'blue'"):
        holder("RED")


def test_model_ref_holds_a_model_or_its_uuid() -> None:
    person = Person("Ada")
    assert Loan(person).person is person
    assert Loan(person.uuid).person == person.uuid
    assert Loan(str(person.uuid)).person == person.uuid
    assert Loan({"name": "Bob", "uuid": str(UUID_VALUE)}).person == Person(
        "Bob", uuid=UUID_VALUE
    )
    with pytest.raises(MinosTypeAttributeException, match=r"Loan\.person") as error:
        Loan("Ada")
    assert "ModelRef[Person]" in str(error.value)


def test_model_ref_needs_a_model() -> None:
    with pytest.raises(MinosMalformedAttributeException, match="ModelRef"):
        _holder(ModelRef[int])(1)


def test_entity_set_semantics() -> None:
    one, two = Page(1), Page(2)
    chapter = Chapter("Intro", [one, two], [])
    pages = chapter.pages
    assert isinstance(pages, EntitySet)
    assert len(pages) == 2
    assert one in pages and one.uuid in pages
    assert Page(1) not in pages
    assert pages.get(two.uuid) is two
    pages.discard(one)
    assert list(pages) == [two]
    pages.discard(two.uuid)
    assert len(pages) == 0
    pages.add(one)
    assert list(pages) == [one]


def test_entity_set_diff() -> None:
    one, two, three = Page(1), Page(2), Page(3)
    old = EntitySet([one, two])
    changed = Page(20, uuid=two.uuid)
    new = EntitySet([changed, three])
    diff = new.diff(old)
    assert diff == SetDiff(added=[three], removed=[one], updated=[changed])
    assert diff
    assert not new.diff(EntitySet([changed, three]))


def test_value_object_set_semantics_and_diff() -> None:
    chapter = Chapter("Intro", [], [Tag("a"), Tag("b"), Tag("a")])
    tags = chapter.tags
    assert isinstance(tags, ValueObjectSet)
    assert len(tags) == 2 and Tag("a") in tags and Tag("z") not in tags
    old = ValueObjectSet(tags)
    tags.add(Tag("c"))
    tags.discard(Tag("a"))
    assert sorted(t.label for t in tags) == ["b", "c"]
    assert tags.diff(old) == SetDiff(added=[Tag("c")], removed=[Tag("a")])
    assert tags == {Tag("b"), Tag("c")}


def test_sets_of_models_validate_their_items() -> None:
    with pytest.raises(MinosTypeAttributeException, match=r"Chapter\.pages\[0\]"):
        Chapter("x", [Tag("a")], [])
    chapter = Chapter("x", [{"number": 4}], [{"label": "t"}])
    assert [page.number for page in chapter.pages] == [4]
    assert chapter.tags == ValueObjectSet([Tag("t")])


def test_entity_sets_need_entities() -> None:
    with pytest.raises(MinosMalformedAttributeException, match="EntitySet"):
        _holder(EntitySet[int])([])
