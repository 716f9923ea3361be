"""Avro schemas, bytes round trips, schema evolution and malformed bytes."""

from __future__ import annotations

import inspect
import io
import struct
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Optional, Union
from uuid import UUID, uuid4

import fastavro
import orjson
import pytest

from minos.common import (
    BucketModel,
    DataTransferObject,
    DeclarativeModel,
    DynamicModel,
    EmptyMinosModelSequenceException,
    Entity,
    EntitySet,
    MinosReqAttributeException,
    MinosSerializationException,
    ModelRef,
    MultiTypeMinosModelSequenceException,
    ValueObject,
    ValueObjectSet,
    decode_value,
    encode_value,
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


class Contact(DeclarativeModel):
    kind: str
    value: str


class Twin(DeclarativeModel):
    """Same field names as ``Contact``: unions must still tell them apart."""

    kind: str
    value: str


class Everything(DeclarativeModel):
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
    numbers: list[int]
    mapping: dict[str, float]
    unique: set[str]
    maybe: Optional[str]  # noqa: UP045
    either: Union[int, str]  # noqa: UP007
    home: Address
    work: Optional[Address]  # noqa: UP045
    contacts: list[Contact]
    nested: list[dict[str, Optional[Address]]]  # noqa: UP045


def everything(**changes: Any) -> Everything:
    values: dict[str, Any] = {
        "number": -(2**62),
        "ratio": 0.1,
        "text": "héllo",
        "flag": False,
        "raw": b"\x00\xff",
        "moment": datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "day": date(1999, 12, 31),
        "clock": time(23, 59, 59, 999999),
        "span": timedelta(days=-1, seconds=5, microseconds=7),
        "identifier": uuid4(),
        "amount": Decimal("-12345678901234567890.000001"),
        "color": Color.BLUE,
        "size": Size.SMALL,
        "numbers": [1, 2, 3],
        "mapping": {"a": 1.5},
        "unique": {"x", "y"},
        "maybe": None,
        "either": "text",
        "home": Address("Main", 1),
        "work": Address("Main", 1),
        "contacts": [Contact("mail", "a@b.c")],
        "nested": [{"a": Address("Side", 2), "b": None}],
    }
    values.update(changes)
    return Everything(**values)


def test_round_trip_of_every_type() -> None:
    model = everything()
    decoded = Everything.from_avro_bytes(model.avro_bytes)
    assert type(decoded) is Everything
    assert decoded == model
    for name in model.keys():
        assert type(decoded[name]) is type(model[name]), name


def test_decoding_finds_the_class_from_the_bytes() -> None:
    model = everything(either=5, maybe="x", work=None)
    decoded = decode_value(model.avro_bytes)
    assert type(decoded) is Everything and decoded == model
    assert decoded.either == 5


def test_schema_uses_avro_types_and_logical_types() -> None:
    [schema] = Everything.avro_schema
    assert schema["type"] == "record"
    assert schema["name"] == "Everything"
    assert schema["namespace"] == Everything.__module__.replace("-", "_")
    fields = {field["name"]: field for field in schema["fields"]}
    types = {name: field["type"] for name, field in fields.items()}
    assert types["number"] == "long"
    assert types["ratio"] == "double"
    assert types["text"] == "string"
    assert types["flag"] == "boolean"
    assert types["raw"] == "bytes"
    assert types["moment"] == {"type": "long", "logicalType": "timestamp-micros"}
    assert types["day"] == {"type": "int", "logicalType": "date"}
    assert types["clock"] == {"type": "long", "logicalType": "time-micros"}
    assert types["span"] == {"type": "long", "logicalType": "timedelta-micros"}
    assert types["identifier"] == {"type": "string", "logicalType": "uuid"}
    assert types["amount"] == {"type": "bytes", "logicalType": "big-decimal"}
    assert types["color"]["type"] == "enum"
    assert types["color"]["symbols"] == ["RED", "BLUE"]
    assert types["numbers"] == {"type": "array", "items": "long"}
    assert types["mapping"] == {"type": "map", "values": "double"}
    assert types["unique"] == {"type": "array", "items": "string", "logicalType": "set"}
    assert types["maybe"] == ["null", "string"]
    assert fields["maybe"]["default"] is None
    assert types["either"] == ["long", "string"]
    assert types["home"]["type"] == "record"
    assert types["home"]["name"] == "Address"
    # A named type is defined once, then referred to by its full name.
    assert types["work"] == ["null", f"{types['home']['namespace']}.Address"]


def test_schema_is_cached_but_returned_as_a_copy() -> None:
    first = Everything.avro_schema
    first[0]["fields"].clear()
    assert Everything.avro_schema[0]["fields"]
    assert everything().avro_schema == Everything.avro_schema


def test_avro_data_and_from_avro() -> None:
    model = everything()
    data = model.avro_data
    assert data["number"] == model.number
    assert Everything.from_avro(model.avro_schema, data) == model
    assert Everything.from_avro(model.avro_schema[0], data) == model


class Shapes(DeclarativeModel):
    either_model: Union[Contact, Twin]  # noqa: UP007
    enum_or_text: Union[Color, str]  # noqa: UP007
    number_or_span: Union[int, timedelta]  # noqa: UP007
    raw_or_decimal: Union[bytes, Decimal]  # noqa: UP007
    text_or_uuid: Union[str, UUID]  # noqa: UP007
    list_or_map: Union[list[int], dict[str, int]]  # noqa: UP007
    moment_or_number: Union[datetime, int]  # noqa: UP007
    anything: Optional[Union[bool, float, Address]]  # noqa: UP007, UP045


@pytest.mark.parametrize(
    "values",
    [
        dict(
            either_model=Twin("a", "b"),
            enum_or_text="RED",
            number_or_span=3,
            raw_or_decimal=b"1",
            text_or_uuid=str(UUID(int=5)),
            list_or_map=[1],
            moment_or_number=7,
            anything=True,
        ),
        dict(
            either_model=Contact("a", "b"),
            enum_or_text=Color.RED,
            number_or_span=timedelta(seconds=3),
            raw_or_decimal=Decimal("1"),
            text_or_uuid=UUID(int=5),
            list_or_map={"a": 1},
            moment_or_number=datetime(2020, 1, 1, tzinfo=UTC),
            anything=1.0,
        ),
        dict(
            either_model=Contact("a", "b"),
            enum_or_text="x",
            number_or_span=0,
            raw_or_decimal=b"",
            text_or_uuid="",
            list_or_map=[],
            moment_or_number=0,
            anything=Address("s", 1),
        ),
        dict(
            either_model=Twin("a", "b"),
            enum_or_text=Color.BLUE,
            number_or_span=timedelta(0),
            raw_or_decimal=Decimal("0.0"),
            text_or_uuid=UUID(int=0),
            list_or_map={},
            moment_or_number=datetime(1970, 1, 1, tzinfo=UTC),
            anything=None,
        ),
    ],
)
def test_union_branches_survive_the_round_trip(values: dict[str, Any]) -> None:
    model = Shapes(**values)
    decoded = Shapes.from_avro_bytes(model.avro_bytes)
    assert decoded == model
    for name in model.keys():
        assert type(decoded[name]) is type(model[name]), name


class Person(Entity):
    name: str


class Loan(DeclarativeModel):
    person: ModelRef[Person]
    witness: Optional[ModelRef[Person]]  # noqa: UP045


def test_model_ref_round_trip() -> None:
    person = Person("Ada")
    for value in (person, person.uuid):
        loan = Loan(value, value)
        decoded = Loan.from_avro_bytes(loan.avro_bytes)
        assert decoded == loan
        assert type(decoded.person) is type(value)
    assert Loan.from_avro_bytes(Loan(person, None).avro_bytes).witness is None


class Page(Entity):
    number: int


class Tag(ValueObject):
    label: str


class Chapter(Entity):
    pages: EntitySet[Page]
    tags: ValueObjectSet[Tag]


def test_entity_and_value_object_sets_round_trip() -> None:
    chapter = Chapter([Page(1), Page(2)], [Tag("a")])
    decoded = Chapter.from_avro_bytes(chapter.avro_bytes)
    assert decoded == chapter
    assert isinstance(decoded.pages, EntitySet)
    assert isinstance(decoded.tags, ValueObjectSet)


class Node(DeclarativeModel):
    name: str
    children: list[Node]


def test_recursive_model_round_trip() -> None:
    tree = Node("root", [Node("a", []), Node("b", [Node("c", [])])])
    assert Node.from_avro_bytes(tree.avro_bytes) == tree
    assert decode_value(tree.avro_bytes) == tree


class Free(DeclarativeModel):
    payload: Any
    items: list[Any]


@pytest.mark.parametrize(
    "payload",
    [1, "x", None, [1, "a"], {"k": [Address("s", 1)]}, Address("s", 2), uuid4()],
)
def test_any_fields_take_the_type_of_their_value(payload: Any) -> None:
    model = Free(payload, [1, 2.5, "x", None, Address("s", 3)])
    decoded = Free.from_avro_bytes(model.avro_bytes)
    assert decoded == model
    assert type(decoded.payload) is type(payload)


def test_dynamic_models_round_trip() -> None:
    bucket = BucketModel(title="Dune", tags=["a"], when=date(2020, 1, 1))
    decoded = decode_value(bucket.avro_bytes)
    assert type(decoded) is BucketModel and decoded == bucket
    dynamic = DynamicModel(count=3)
    assert DynamicModel.from_avro_bytes(dynamic.avro_bytes) == dynamic


def test_lists_of_models() -> None:
    contacts = [Contact("a", "1"), Contact("b", "2")]
    data = Contact.to_avro_bytes(contacts)
    assert Contact.from_avro_bytes(data) == contacts
    assert decode_value(data) == contacts
    with pytest.raises(EmptyMinosModelSequenceException):
        Contact.to_avro_bytes([])
    with pytest.raises(MultiTypeMinosModelSequenceException, match="Twin"):
        Contact.to_avro_bytes([Contact("a", "1"), Twin("a", "1")])


def test_classes_defined_in_functions_decode_as_equal_dtos() -> None:
    class Point(DeclarativeModel):
        x: int
        y: int

    point = Point(1, 2)
    decoded = decode_value(point.avro_bytes)
    assert isinstance(decoded, DataTransferObject)
    assert type(decoded).__name__ == "Point"
    assert decoded == point
    assert Point.from_avro_bytes(point.avro_bytes).__class__ is Point


def test_avro_object_container_bytes_are_read() -> None:
    model = Contact("mail", "x@y.z")
    buffer = io.BytesIO()
    fastavro.writer(buffer, Contact.avro_schema[0], [model.avro_data])
    assert Contact.from_avro_bytes(buffer.getvalue()) == model


# --- schema evolution ----------------------------------------------------------------


class ProductV1(DeclarativeModel):
    _avro_name = ("Product", "tests.evolution")
    name: str
    price: int
    legacy: str


class ProductV2(DeclarativeModel):
    """Newer version: ``legacy`` removed, ``price`` widened, fields added."""

    _avro_name = ("Product", "tests.evolution")
    name: str
    price: float
    stock: int = 0
    note: Optional[str]  # noqa: UP045
    tags: list[str] = []


class CatalogV2(DeclarativeModel):
    products: list[ProductV2]


def test_bytes_of_an_older_version_are_read_with_defaults() -> None:
    old = ProductV1("pen", 3, "x").avro_bytes
    new = ProductV2.from_avro_bytes(old)
    assert new == ProductV2("pen", 3.0, 0, None, [])
    assert type(new.price) is float
    assert decode_value(old) == new


def test_older_nested_records_are_evolved() -> None:
    writer = {
        "type": "record",
        "name": "CatalogV2",
        "namespace": CatalogV2.avro_schema[0]["namespace"],
        "fields": [
            {
                "name": "products",
                "type": {
                    "type": "array",
                    "items": ProductV1.avro_schema[0],
                },
            }
        ],
    }
    data = _write(writer, {"products": [ProductV1("pen", 3, "x").avro_data]})
    assert CatalogV2.from_avro_bytes(data) == CatalogV2([ProductV2("pen", 3.0)])


def test_a_required_field_missing_from_older_bytes_is_reported() -> None:
    writer = {
        "type": "record",
        "name": "Product",
        "namespace": "tests.evolution",
        "fields": [{"name": "price", "type": "long"}],
    }
    with pytest.raises(MinosReqAttributeException, match=r"ProductV2\.name"):
        ProductV2.from_avro_bytes(_write(writer, {"price": 1}))


def _write(schema: dict[str, Any], datum: Any) -> bytes:
    text = orjson.dumps(schema)
    buffer = io.BytesIO()
    buffer.write(b"MA\x01" + struct.pack(">I", len(text)) + text)
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), datum)
    return buffer.getvalue()


# --- malformed input -----------------------------------------------------------------


def test_malformed_bytes_are_reported() -> None:
    good = Contact("mail", "x").avro_bytes
    cases = [
        b"",
        b"garbage that is not avro",
        good[:5],
        good[:20],
        good[:-1],
        good + b"\x00",
        b"MA\x01" + struct.pack(">I", 5) + b"{bad}",
        b"MA\x01" + struct.pack(">I", 2) + b"{}",
        good[:-3] + b"\xff\xff\xff",
    ]
    for case in cases:
        with pytest.raises(MinosSerializationException):
            Contact.from_avro_bytes(case)
        with pytest.raises(MinosSerializationException):
            decode_value(case)


def test_decoding_something_that_is_not_bytes() -> None:
    with pytest.raises(MinosSerializationException, match="bytes"):
        decode_value("text")  # type: ignore[arg-type]


def test_model_bytes_must_hold_models() -> None:
    with pytest.raises(MinosSerializationException, match="int"):
        Contact.from_avro_bytes(encode_value(3))


def test_values_that_cannot_be_encoded() -> None:
    with pytest.raises(MinosSerializationException, match="object"):
        encode_value(object())
    with pytest.raises(MinosSerializationException, match="keys"):
        encode_value({1: "a"})


def test_classes_holding_any_have_schemas_per_instance() -> None:
    assert not isinstance(Free.avro_schema, list)
    inspect.getmembers(Free)  # class scans (dependency wiring) do not fail
    assert Free(1, []).avro_schema[0]["fields"][0]["type"] == "long"
    assert Free("x", []).avro_schema[0]["fields"][0]["type"] == "string"


class Accent(Enum):
    CAFÉ = 1


class Menu(DeclarativeModel):
    accent: Accent


def test_types_avro_cannot_name_are_reported() -> None:
    with pytest.raises(MinosSerializationException, match="Menu"):
        encode_value(Menu(Accent.CAFÉ))
