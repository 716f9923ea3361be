"""JSON for HTTP: plain data, bytes, and models rebuilt from JSON."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Optional, Union
from uuid import UUID, uuid4

import orjson
import pytest

from minos.common import (
    BucketModel,
    DeclarativeModel,
    Entity,
    EntitySet,
    MinosModelException,
    MinosSerializationException,
    MinosTypeAttributeException,
    ModelRef,
    ModelType,
    ValueObject,
    ValueObjectSet,
    json_dumps,
    json_loads,
    to_json_data,
)


class Color(str, Enum):  # noqa: UP042 - the str mix-in is what is tested
    RED = "red"
    BLUE = "blue"


class Size(Enum):
    SMALL = 1
    LARGE = 2


class Address(ValueObject):
    street: str
    zip_code: int


class Page(Entity):
    number: int


class Record(DeclarativeModel):
    number: int
    ratio: float
    text: str
    flag: bool
    raw: bytes
    moment: datetime
    day: date
    clock: time
    span: timedelta
    identifier: UUID
    amount: Decimal
    color: Color
    size: Size
    unique: set[str]
    maybe: Optional[str]  # noqa: UP045
    either: Union[int, str]  # noqa: UP007
    home: Address
    homes: dict[str, list[Address]]
    pages: EntitySet[Page]
    tags: ValueObjectSet[Address]
    owner: ModelRef[Page]


def record(**changes: object) -> Record:
    values: dict[str, object] = {
        "number": 7,
        "ratio": 0.25,
        "text": 'héllo "quoted"',
        "flag": True,
        "raw": b"\x00\xffbytes",
        "moment": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "day": date(1999, 12, 31),
        "clock": time(23, 59, 59, 1),
        "span": timedelta(days=1, microseconds=250),
        "identifier": UUID("a2d6fa8f-4d6e-4b8f-9a57-1e1c4b3c2b10"),
        "amount": Decimal("10.50"),
        "color": Color.BLUE,
        "size": Size.LARGE,
        "unique": {"x"},
        "maybe": None,
        "either": 3,
        "home": Address("Main", 1),
        "homes": {"summer": [Address("Beach", 2)]},
        "pages": [Page(1, uuid=UUID(int=1))],
        "tags": [Address("Tag", 3)],
        "owner": UUID(int=9),
    }
    values.update(changes)
    return Record(**values)


def test_json_data_renders_every_type() -> None:
    data = to_json_data(record())
    assert data == {
        "number": 7,
        "ratio": 0.25,
        "text": 'héllo "quoted"',
        "flag": True,
        "raw": base64.b64encode(b"\x00\xffbytes").decode(),
        "moment": "2024-01-02T03:04:05.678901+00:00",
        "day": "1999-12-31",
        "clock": "23:59:59.000001",
        "span": "P1DT0.00025S",
        "identifier": "a2d6fa8f-4d6e-4b8f-9a57-1e1c4b3c2b10",
        "amount": "10.50",
        "color": "blue",
        "size": 2,
        "unique": ["x"],
        "maybe": None,
        "either": 3,
        "home": {"street": "Main", "zip_code": 1},
        "homes": {"summer": [{"street": "Beach", "zip_code": 2}]},
        "pages": [{"uuid": str(UUID(int=1)), "number": 1}],
        "tags": [{"street": "Tag", "zip_code": 3}],
        "owner": str(UUID(int=9)),
    }
    assert orjson.loads(orjson.dumps(data)) == data


def test_json_dumps_matches_json_data() -> None:
    values = [
        record(),
        [record(), record(either="x")],
        {"id": uuid4(), "when": datetime(2020, 1, 1, tzinfo=UTC), "n": Decimal("1")},
        uuid4(),
        BucketModel(a=1, b=[Address("x", 1)]),
        (1, 2),
        None,
    ]
    for value in values:
        assert orjson.loads(json_dumps(value)) == to_json_data(value)


def test_models_are_rebuilt_from_json() -> None:
    model = record(owner=Page(5), maybe="m", either="text")
    assert Record.from_json(model.to_json()) == model
    assert Record.from_json(model.to_json().decode()) == model
    assert Record.from_dict(to_json_data(model)) == model
    assert model.to_json_data() == to_json_data(model)


def test_dto_types_from_json() -> None:
    dto_type = ModelType.build("Row", {"uuid": UUID, "title": str})
    row = dto_type(uuid4(), "x")
    assert dto_type.from_json(json_dumps(row)) == row


def test_bad_json_input() -> None:
    with pytest.raises(MinosSerializationException, match="malformed JSON"):
        Record.from_json(b"{not json")
    with pytest.raises(MinosSerializationException):
        json_loads("[1,")
    with pytest.raises(MinosModelException, match="mapping"):
        Record.from_json(b"[1, 2]")
    data = to_json_data(record())
    data["raw"] = "***"
    with pytest.raises(MinosTypeAttributeException, match=r"Record\.raw"):
        Record.from_dict(data)
    data = to_json_data(record())
    data["moment"] = "not a date"
    with pytest.raises(MinosTypeAttributeException, match=r"Record\.moment"):
        Record.from_dict(data)


def test_values_that_cannot_be_written_as_json() -> None:
    with pytest.raises(MinosSerializationException):
        json_dumps(object())
    with pytest.raises(MinosSerializationException):
        to_json_data(object())
    with pytest.raises(MinosSerializationException, match="keys"):
        to_json_data({(1, 2): "tuple key"})


def test_times_keep_their_microseconds() -> None:
    clock = time(0, 0, 0, 10000)
    assert json_dumps(clock) == b'"00:00:00.010000"'
    assert Record.from_json(record(clock=clock).to_json()).clock == clock


def test_durations_are_exact_iso_8601() -> None:
    span = timedelta(days=99421, microseconds=1)
    assert to_json_data(span) == "P99421DT0.000001S"
    assert Record.from_json(record(span=span).to_json()).span == span
    assert Record.from_dict({**to_json_data(record()), "span": "PT1H30M"}).span == (
        timedelta(minutes=90)
    )
    with pytest.raises(MinosTypeAttributeException, match=r"Record\.span"):
        Record.from_dict({**to_json_data(record()), "span": "P1Y"})
