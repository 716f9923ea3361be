"""The generic value codec used by messages: every value kind round-trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import pytest

from minos.common import (
    BucketModel,
    DeclarativeModel,
    Entity,
    EntitySet,
    ModelType,
    ValueObject,
    ValueObjectSet,
    avro_schema_of,
    decode_value,
    encode_value,
)


class Level(Enum):
    LOW = "low"
    HIGH = "high"


class Author(ValueObject):
    name: str


class Book(Entity):
    title: str
    authors: list[Author]
    extra: Any


BOOK = Book("Dune", [Author("Frank")], {"pages": 412}, uuid=UUID(int=3))
DTO = ModelType.build("BookDTO", {"uuid": UUID, "title": str, "available": int})

VALUES = [
    None,
    True,
    False,
    0,
    -(2**63),
    2**63 - 1,
    1.5,
    float("inf"),
    "",
    "text ✓",
    b"",
    b"\x00\x01",
    uuid4(),
    datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC),
    date(2024, 2, 29),
    time(12, 30),
    timedelta(days=-3, microseconds=1),
    Decimal("-0.000001"),
    Decimal("1E+5"),
    Level.HIGH,
    [],
    {},
    [1, 2, 3],
    [1, "a", None, 2.5, uuid4()],
    [[1, 2], ["a"], []],
    {"a": 1, "b": "two", "c": [1.5], "d": {"e": None}},
    {1, 2, 3},
    BOOK,
    [BOOK, BOOK],
    {"book": BOOK, "count": 2},
    Author("Ursula"),
    DTO(uuid4(), "Dune", 2),
    [DTO(uuid4(), "a", 1), DTO(uuid4(), "b", 0)],
    BucketModel(a=1, b=[Author("x")]),
    EntitySet([BOOK]),
    ValueObjectSet([Author("a"), Author("b")]),
    {"ids": [uuid4(), uuid4()], "when": datetime(2020, 1, 1, tzinfo=UTC)},
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_round_trip(value: Any) -> None:
    decoded = decode_value(encode_value(value))
    assert decoded == value
    assert type(decoded) is type(value)


def test_models_come_back_as_their_class() -> None:
    decoded = decode_value(encode_value({"books": [BOOK]}))
    assert type(decoded["books"][0]) is Book
    assert type(decoded["books"][0].authors[0]) is Author


def test_tuples_come_back_as_lists() -> None:
    assert decode_value(encode_value((1, 2))) == [1, 2]


def test_naive_datetimes_come_back_in_utc() -> None:
    naive = datetime(2024, 1, 1, 12, 0)
    assert decode_value(encode_value(naive)) == naive.replace(tzinfo=UTC)


def test_schema_of_a_value() -> None:
    assert avro_schema_of([1, "a"]) == {"type": "array", "items": ["long", "string"]}
    assert avro_schema_of({"a": None}) == {"type": "map", "values": "null"}
    assert avro_schema_of(BOOK)["name"] == "Book"


class Unmovable(DeclarativeModel):
    holder: Any


def test_any_holding_a_model_of_a_function_local_class() -> None:
    class Local(DeclarativeModel):
        x: int

    decoded = decode_value(encode_value(Unmovable(Local(1))))
    assert decoded == Unmovable(Local(1))
    assert type(decoded.holder).__name__ == "Local"
