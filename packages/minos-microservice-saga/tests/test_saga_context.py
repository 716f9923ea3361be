"""SagaContext: mapping and attribute access, and a lossless stored form."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minos.common import DeclarativeModel, Entity, ModelType, ValueObject
from minos.saga import (
    MinosSagaContextException,
    MinosSagaSerializationException,
    SagaContext,
)
from minos.saga.context.codec import decode_value, encode_value


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1


def test_mapping_and_attribute_access():
    book = uuid4()
    context = SagaContext(book=book, reader="ann")

    assert context["book"] == book
    assert context.reader == "ann"
    assert dict(context) == {"book": book, "reader": "ann"}
    assert len(context) == 2
    assert "book" in context

    context.loan = 3
    context["fee"] = 1.5
    assert context["loan"] == 3
    assert context.fee == 1.5
    del context.fee
    del context["loan"]
    assert set(context) == {"book", "reader"}


def test_positional_mapping_and_keywords_merge():
    context = SagaContext({"a": 1, "b": 2}, b=3)
    assert context == SagaContext(a=1, b=3)
    assert context == {"a": 1, "b": 3}
    assert context != SagaContext(a=1)


def test_missing_attribute_names_what_exists():
    context = SagaContext(book=1)
    with pytest.raises(AttributeError, match="'loan'.*book"):
        _ = context.loan
    with pytest.raises(KeyError):
        context["loan"]


def test_keys_must_be_strings():
    with pytest.raises(TypeError, match="strings"):
        SagaContext({1: "one"})


def test_repr_and_copy():
    context = SagaContext(a=1)
    copy = context.copy()
    copy["b"] = 2
    assert repr(context) == "SagaContext(a=1)"
    assert "b" not in context


EVERY_KIND = {
    "none": None,
    "bool": True,
    "int": 42,
    "huge": 2**80,
    "float": 1.25,
    "nan-free inf": float("inf"),
    "text": "ünï",
    "bytes": b"\x00\xff",
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "datetime": datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
    "naive": datetime(2024, 5, 1, 12, 30),
    "date": date(2024, 2, 29),
    "time": time(23, 59, 1),
    "timedelta": timedelta(days=-1, seconds=5, microseconds=7),
    "decimal": Decimal("10.005"),
    "enum": Color.BLUE,
    "intenum": Level.LOW,
    "list": [1, "a", [uuid4()]],
    "tuple": (1, (2, 3)),
    "set": {1, 2},
    "frozenset": frozenset({"x"}),
    "dict": {"a": {"nested": [1]}, 3: "int key", "$type": "looks tagged"},
    "context": SagaContext(inner=uuid4()),
}


def test_every_kind_round_trips_through_json():
    context = SagaContext(EVERY_KIND)
    stored = orjson.loads(orjson.dumps(context.raw))
    again = SagaContext.from_raw(stored)

    assert again == context
    for key, value in EVERY_KIND.items():
        assert type(again[key]) is type(value), key
    assert again["enum"] is Color.BLUE
    assert isinstance(again["context"], SagaContext)


class Author(ValueObject):
    name: str
    born: int | None


class Shelf(DeclarativeModel):
    label: str
    authors: list[Author]
    opened: datetime


class Reader(Entity):
    name: str


ReserveQuery = ModelType.build("ReserveQuery", {"book": UUID, "copies": int})


def test_models_round_trip_as_their_class():
    shelf = Shelf(
        "A", [Author("Le Guin", 1929), Author("Anon", None)], datetime.now(UTC)
    )
    reader = Reader(name="ann")
    context = SagaContext(shelf=shelf, reader=reader, readers=[reader, reader])

    again = SagaContext.from_raw(orjson.loads(orjson.dumps(context.raw)))

    assert again == context
    assert type(again["shelf"]) is Shelf
    assert type(again["shelf"].authors[0]) is Author
    assert type(again["reader"]) is Reader
    assert again["reader"].uuid == reader.uuid
    assert again["readers"] == [reader, reader]


def test_dynamic_dtos_round_trip_equal():
    query = ReserveQuery(uuid4(), 2)
    again = SagaContext.from_raw(SagaContext(query=query).raw)["query"]
    assert again == query
    assert again.book == query.book and again.copies == 2


def test_unsupported_values_name_the_key():
    with pytest.raises(MinosSagaSerializationException, match="'lock'.*object"):
        _ = SagaContext(lock=object()).raw


def test_local_enum_classes_cannot_be_stored():
    class Local(enum.Enum):
        A = 1

    with pytest.raises(MinosSagaSerializationException, match="module level"):
        encode_value(Local.A, where="x")


def test_unknown_stored_kind_is_a_clear_error():
    with pytest.raises(MinosSagaSerializationException, match="'x'"):
        decode_value({"mystery": 1}, where="x")
    with pytest.raises(MinosSagaSerializationException, match="cannot be read back"):
        decode_value({"uuid": "not a uuid"}, where="x")
    with pytest.raises(MinosSagaSerializationException, match="cannot be imported"):
        decode_value({"enum": ["nowhere:Color", 1]}, where="x")


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.uuids()
    | st.datetimes(timezones=st.just(UTC))
    | st.decimals(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@given(values)
def test_round_trip_property(value):
    assert decode_value(orjson.loads(orjson.dumps(encode_value(value)))) == value


def test_internal_and_method_names_need_item_access():
    context = SagaContext(book="B")
    with pytest.raises(MinosSagaContextException, match="context\\['_fields'\\]"):
        context._fields = {}
    for name in ("items", "keys", "get", "copy", "raw"):
        with pytest.raises(MinosSagaContextException, match=f"context\\['{name}'\\]"):
            setattr(context, name, 1)
    context["items"] = 3
    context["_secret"] = 4
    assert dict(context) == {"book": "B", "items": 3, "_secret": 4}
    assert callable(context.items)  # the method: the value is context["items"]
    with pytest.raises(AttributeError):
        context._secret  # noqa: B018
    assert SagaContext.from_raw(orjson.loads(orjson.dumps(context.raw))) == context
