"""Hostile and edge-case input to the model layer: every failure is a model error.

Bytes given to ``decode_value`` come from the network (every broker message is
decoded with it), so malformed or malicious ones must raise
``MinosSerializationException`` without exhausting memory, the stack or caches.
"""

from __future__ import annotations

import gc
import math
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Optional
from uuid import UUID, uuid4

import orjson
import pytest

from minos.common import (
    BucketModel,
    DeclarativeModel,
    DynamicModel,
    Entity,
    EntitySet,
    MinosAttributeValidationException,
    MinosMalformedAttributeException,
    MinosModelException,
    MinosSerializationException,
    MinosTypeAttributeException,
    ModelType,
    ValueObject,
    ValueObjectSet,
    decode_value,
    encode_value,
    json_dumps,
)
from minos.common.model.codecs import compiler
from minos.common.model.serializers import avro

ENTITY = "minos.common.model.entities.Entity"


def hostile(schema: Any, datum: bytes) -> bytes:
    """Minos Avro bytes with an arbitrary writer schema and datum."""
    text = orjson.dumps(schema)
    return b"MA\x01" + struct.pack(">I", len(text)) + text + datum


# --- module-level models (classes found again by their Avro name) ----


class Node(DeclarativeModel):
    """A legitimately recursive model."""

    label: str
    next: Optional[Node]  # noqa: UP045 - recursive reference


class Account(DeclarativeModel):
    owner: str
    balance: int

    def validate_balance(self, value: int) -> bool:
        return value >= 0

    def parse_owner(self, value: str) -> str:
        return value.strip().lower()


class Item(Entity):
    name: str


class Label(ValueObject):
    text: str


class Inner(DeclarativeModel):
    tags: list[str] = []


class Colour(Enum):
    RED = 1
    GREEN = 2


class Paint(DeclarativeModel):
    colour: Colour


class Stamp(DeclarativeModel):
    at: datetime


class Reading(DeclarativeModel):
    value: float


class Tag(Entity):
    label: str


class Wrapper(DeclarativeModel):
    payload: Any


# --- 1. recursion ----


def test_self_referencing_writer_schema_does_not_crash_the_process() -> None:
    code = (
        "import struct, orjson\n"
        "from minos.common import decode_value, MinosSerializationException\n"
        f"n = {ENTITY!r}\n"
        "s = orjson.dumps({'type': 'record', 'name': n,"
        " 'fields': [{'name': 'next', 'type': ['null', n]}]})\n"
        "data = b'MA\\x01' + struct.pack('>I', len(s)) + s"
        " + b'\\x02' * 100_000 + b'\\x00'\n"
        "try:\n"
        "    decode_value(data)\n"
        "except MinosSerializationException as error:\n"
        "    print('refused', error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("refused")


def test_recursive_writer_schema_for_a_non_recursive_class_is_refused() -> None:
    schema = {
        "type": "record",
        "name": ENTITY,
        "fields": [{"name": "next", "type": ["null", ENTITY]}],
    }
    with pytest.raises(MinosSerializationException, match="recursive"):
        decode_value(hostile(schema, b"\x02\x00"))


def test_recursive_writer_schema_of_an_unknown_name_is_refused() -> None:
    schema = {
        "type": "record",
        "name": "elsewhere.Chain",
        "fields": [{"name": "next", "type": ["null", "elsewhere.Chain"]}],
    }
    with pytest.raises(MinosSerializationException, match="recursive"):
        decode_value(hostile(schema, b"\x00"))


def test_recursive_model_round_trips_and_deep_data_is_refused() -> None:
    chain = Node("a", Node("b", None))
    assert decode_value(encode_value(chain)) == chain
    schema = avro.avro_schema_of(chain)
    deep = b"\x02a\x02" * 5000 + b"\x02a\x00"
    with pytest.raises(MinosSerializationException, match="deep"):
        decode_value(hostile(schema, deep))


def test_deep_recursive_model_is_refused_when_encoded() -> None:
    node = None
    for _ in range(1000):
        node = Node("x", node)
    with pytest.raises(MinosSerializationException):
        encode_value(node)
    with pytest.raises(MinosSerializationException):
        node.to_json_data()


def test_deep_recursive_data_from_dict_is_refused() -> None:
    data: Any = None
    for _ in range(3000):
        data = {"label": "x", "next": data}
    with pytest.raises(MinosModelException, match="deep"):
        Node.from_dict(data)
    text = '{"label":"x","next":' * 900 + "null" + "}" * 900
    with pytest.raises(MinosModelException, match="deep"):
        Node.from_json(text)


def test_deeply_nested_schema_is_refused() -> None:
    text = b'{"type":"array","items":' * 600 + b'"long"' + b"}" * 600
    data = b"MA\x01" + struct.pack(">I", len(text)) + text + b"\x00"
    with pytest.raises(MinosSerializationException, match="deep"):
        decode_value(data)


# --- 2. memory bombs ----


@pytest.mark.parametrize(
    "items",
    [
        "null",
        {"type": "record", "name": "Nothing", "fields": []},
        {"type": "fixed", "name": "Empty", "size": 0},
        {
            "type": "record",
            "name": "Hollow",
            "fields": [{"name": "a", "type": "null"}],
        },
    ],
)
def test_array_of_zero_byte_items_with_a_huge_count_is_refused(items: Any) -> None:
    data = hostile({"type": "array", "items": items}, b"\xfe\xff\xff\xff\x0f\x00")
    with pytest.raises(MinosSerializationException, match="items"):
        decode_value(data)


def test_small_arrays_of_nulls_still_round_trip() -> None:
    assert decode_value(encode_value([])) == []
    assert decode_value(encode_value([None, None])) == [None, None]
    assert decode_value(encode_value({"a": [None] * 3})) == {"a": [None] * 3}


# --- 3. caches ----


def test_distinct_incoming_names_do_not_accumulate() -> None:
    def message(index: int) -> bytes:
        schema = {
            "type": "record",
            "name": f"Flood{index}",
            "namespace": "elsewhere",
            "fields": [
                {"name": "x", "type": "long"},
                {
                    "name": "e",
                    "type": {
                        "type": "enum",
                        "name": f"Kind{index}",
                        "symbols": ["A", "B"],
                    },
                },
            ],
        }
        return hostile(schema, b"\x02\x00")

    from minos.common.model import dynamic

    # Types stay alive while a bounded cache holds one of their codecs.
    limit = avro._MAX_READERS + avro._MAX_WRITERS + compiler._MAX_CODECS
    for index in range(limit + 300):
        value = decode_value(message(index))
        encode_value(value)
    del value
    gc.collect()
    assert len(avro._READERS) <= avro._MAX_READERS
    assert len(avro._WRITERS) <= avro._MAX_WRITERS
    assert len(compiler._CACHE) <= compiler._MAX_CODECS
    assert len(avro._ENUMS) < limit
    assert len(dynamic._DTO_TYPES) < limit


def test_built_types_stay_the_same_while_referenced() -> None:
    one = ModelType.build("Stable", {"x": int})
    gc.collect()
    assert ModelType.build("Stable", {"x": int}) is one
    assert ModelType.build("Stable", {"x": str}) is not one


# --- 4. hooks on decode ----


def test_decoding_runs_validate_and_parse_hooks() -> None:
    good = Account("Ana", 3)
    assert good.owner == "ana"
    tampered = hostile(avro.avro_schema_of(good), b"\x06ana\x09")  # balance -5
    with pytest.raises(MinosAttributeValidationException, match="balance"):
        Account.from_avro_bytes(tampered)
    with pytest.raises(MinosAttributeValidationException, match="balance"):
        decode_value(tampered)
    assert Account.from_avro_bytes(good.avro_bytes) == good


def test_schema_evolution_runs_hooks() -> None:
    schema = {
        "type": "record",
        "name": avro.avro_schema_of(Account("a", 1))["name"],
        "namespace": avro.avro_schema_of(Account("a", 1))["namespace"],
        "fields": [
            {"name": "owner", "type": "string"},
            {"name": "balance", "type": "int"},
        ],
    }
    with pytest.raises(MinosAttributeValidationException, match="balance"):
        decode_value(hostile(schema, b"\x08 Bo \x09"))
    assert decode_value(hostile(schema, b"\x08 Bo \x06")) == Account("bo", 3)


# --- 5. mutable defaults ----


def test_mutable_defaults_are_not_shared() -> None:
    class Basket(DeclarativeModel):
        items_: EntitySet[Item] = EntitySet()
        objects: ValueObjectSet[Label] = ValueObjectSet()
        nested: list[list[int]] = [[1]]
        mapping: dict[str, list[int]] = {"a": [1]}
        groups: set[int] = {1}
        inner: Inner = Inner()
        optional: Optional[Inner] = Inner()  # noqa: UP045

    one = Basket()
    one.items_.add(Item("x"))
    one.objects.add(Label("y"))
    one.nested[0].append(2)
    one.mapping["a"].append(2)
    one.groups.add(2)
    one.inner.tags.append("t")
    one.optional.tags.append("t")
    other = Basket()
    assert len(other.items_) == 0
    assert len(other.objects) == 0
    assert other.nested == [[1]]
    assert other.mapping == {"a": [1]}
    assert other.groups == {1}
    assert other.inner.tags == []
    assert other.optional.tags == []


# --- 6. local timestamps ----


def test_local_timestamp_is_read_as_utc() -> None:
    name, namespace = Stamp.avro_schema[0]["name"], Stamp.avro_schema[0]["namespace"]
    schema = {
        "type": "record",
        "name": name,
        "namespace": namespace,
        "fields": [
            {
                "name": "at",
                "type": {"type": "long", "logicalType": "local-timestamp-micros"},
            }
        ],
    }
    value = decode_value(hostile(schema, b"\x00"))
    assert value.at == datetime(1970, 1, 1, tzinfo=UTC)
    assert value.at.tzinfo is UTC


# --- 7. JSON ----


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_json_refuses_non_finite_floats(number: float) -> None:
    with pytest.raises(MinosSerializationException, match="finite"):
        json_dumps(Reading(number))
    with pytest.raises(MinosSerializationException, match="finite"):
        json_dumps({"a": [None, number]})
    assert json_dumps({"a": None}) == b'{"a":null}'


# --- 8. enums ----


def test_enums_are_not_found_by_walking_modules() -> None:
    import http

    schema = {"type": "enum", "name": "http.HTTPStatus", "symbols": ["OK"]}
    value = decode_value(hostile(schema, b"\x00"))
    assert not isinstance(value, http.HTTPStatus)
    assert value.name == "OK"


def test_enums_used_in_models_are_found() -> None:
    assert decode_value(encode_value(Paint(Colour.GREEN))) == Paint(Colour.GREEN)
    assert decode_value(encode_value(Colour.RED)) is Colour.RED


# --- 9. raw exceptions ----


@pytest.mark.parametrize("symbol", ["_sunder_", "mro", "__dunder__"])
def test_bad_enum_symbols_are_refused(symbol: str) -> None:
    schema = {"type": "enum", "name": "Odd", "symbols": ["A", symbol]}
    with pytest.raises(MinosSerializationException):
        decode_value(hostile(schema, b"\x02"))


def test_entity_set_of_records_without_uuid_is_refused() -> None:
    schema = {
        "type": "array",
        "logicalType": "entity-set",
        "items": {
            "type": "record",
            "name": "NoId",
            "fields": [{"name": "x", "type": "long"}],
        },
    }
    with pytest.raises(MinosSerializationException, match="uuid"):
        decode_value(hostile(schema, b"\x02\x02\x00"))


def test_record_named_like_an_abstract_base_is_a_dto() -> None:
    schema = {
        "type": "record",
        "name": "minos.common.model.abc.Model",
        "fields": [{"name": "x", "type": "long"}],
    }
    value = decode_value(hostile(schema, b"\x02"))
    assert value.x == 1


def test_conversion_overflows_are_type_errors() -> None:
    with pytest.raises(MinosTypeAttributeException, match="Reading.value"):
        Reading(10**400)
    with pytest.raises(MinosTypeAttributeException, match="Stamp.at"):
        Stamp("9999-12-31T23:00:00-05:00")

    class Wait(DeclarativeModel):
        span: timedelta

    with pytest.raises(MinosTypeAttributeException, match="Wait.span"):
        Wait(math.nan)
    with pytest.raises(MinosTypeAttributeException, match="Wait.span"):
        Wait("PT" + "9" * 5000 + "S")


def test_from_dict_with_non_string_keys() -> None:
    with pytest.raises(MinosModelException, match="Reading"):
        Reading.from_dict({1: 2})


def test_cyclic_values_are_refused() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(MinosSerializationException):
        encode_value(cyclic)
    from minos.common import to_json_data

    with pytest.raises(MinosSerializationException):
        to_json_data(cyclic)
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(MinosSerializationException):
        encode_value(deep)
    with pytest.raises(MinosSerializationException):
        to_json_data(deep)


def test_unserializable_value_in_any_field_names_the_field() -> None:
    for payload in ({1: 2}, object(), [{"a": {2: 3}}]):
        with pytest.raises(MinosSerializationException, match="Wrapper.payload"):
            encode_value(Wrapper(payload))
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(MinosSerializationException, match="Wrapper"):
        encode_value(Wrapper(deep))


def test_malformed_data_never_leaks_raw_errors() -> None:
    schema = {"type": "bytes", "logicalType": "big-decimal"}
    with pytest.raises(MinosSerializationException):
        decode_value(hostile(schema, b"\x06\x01\x02\x00"))  # negative size
    schema = {"type": "long", "logicalType": "time-micros"}
    with pytest.raises(MinosSerializationException):
        decode_value(hostile(schema, b"\xfe\xff\xff\xff\xff\xff\x0f"))


# --- 10. reserved field names ----


@pytest.mark.parametrize(
    "name",
    [
        "keys",
        "fields",
        "to_json",
        "avro_data",
        "avro_bytes",
        "avro_schema",
        "from_dict",
    ],
)
def test_field_names_shadowing_model_members_are_refused(name: str) -> None:
    with pytest.raises(MinosMalformedAttributeException, match=name):
        ModelType(name.title(), (DeclarativeModel,), {"__annotations__": {name: int}})
    with pytest.raises(MinosMalformedAttributeException, match=name):
        BucketModel(**{name: 1})
    with pytest.raises(MinosMalformedAttributeException, match=name):
        DynamicModel(**{name: 1})
    with pytest.raises(MinosMalformedAttributeException, match=name):
        ModelType.build("Shadow", {name: int})
    schema = {
        "type": "record",
        "name": "Shadow",
        "fields": [{"name": name, "type": "long"}],
    }
    with pytest.raises(MinosSerializationException, match=name):
        decode_value(hostile(schema, b"\x02"))


def test_underscore_field_names_from_bytes_are_refused() -> None:
    bucket = BucketModel(a=1)
    schema = avro.avro_schema_of(bucket)
    schema["fields"] = [{"name": "_field_types", "type": "long"}]
    with pytest.raises(MinosSerializationException, match="_field_types"):
        decode_value(hostile(schema, b"\x02"))


# --- 11. values that cannot be stored ----


def test_values_that_cannot_be_encoded_are_refused_at_validation() -> None:
    class Holder(DeclarativeModel):
        amount: Decimal | None = None
        span: timedelta | None = None
        text: str = ""
        texts: list[str] = []
        mapping: dict[str, int] = {}

    with pytest.raises(MinosTypeAttributeException, match="digits"):
        Holder(amount=Decimal("1" * 5000))
    with pytest.raises(MinosTypeAttributeException, match="Holder.amount"):
        Holder(amount="1E+9999999999999999")
    with pytest.raises(MinosTypeAttributeException, match="Holder.span"):
        Holder(span=timedelta.max)
    with pytest.raises(MinosTypeAttributeException, match="Holder.text"):
        Holder(text="a\ud800")
    with pytest.raises(MinosTypeAttributeException, match="Holder.texts"):
        Holder(texts=["ok", "\udfff"])
    with pytest.raises(MinosTypeAttributeException, match="Holder.mapping"):
        Holder(mapping={"\ud800": 1})
    fine = Holder(amount=Decimal("1.5"), span=timedelta(days=3), text="ñ", texts=["é"])
    assert decode_value(encode_value(fine)) == fine


# --- 12. small ones ----


def test_enum_values_are_matched_by_type() -> None:
    with pytest.raises(MinosTypeAttributeException, match="Paint.colour"):
        Paint(True)
    with pytest.raises(MinosTypeAttributeException, match="Paint.colour"):
        Paint(1.0)
    assert Paint(1).colour is Colour.RED


def test_entity_bytes_without_uuid_are_refused() -> None:
    tag = Tag("x")
    schema = avro.avro_schema_of(tag)
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "uuid"]
    with pytest.raises(MinosSerializationException, match="uuid"):
        decode_value(hostile(schema, b"\x02x"))
    assert decode_value(tag.avro_bytes) == tag
    assert isinstance(tag.uuid, UUID) and tag.uuid != uuid4()


def test_enum_from_bytes_cannot_take_over_a_model_name() -> None:
    record = avro.avro_schema_of(Account("a", 1))
    fullname = f"{record['namespace']}.{record['name']}"
    schema = {"type": "enum", "name": fullname, "symbols": ["A"]}
    assert decode_value(hostile(schema, b"\x00")).name == "A"
    assert decode_value(Account("bo", 2).avro_bytes) == Account("bo", 2)


def test_avro_container_with_a_recursive_schema_is_refused() -> None:
    import io

    import fastavro

    schema = {
        "type": "record",
        "name": "Chain",
        "fields": [{"name": "next", "type": ["null", "Chain"]}],
    }
    buffer = io.BytesIO()
    fastavro.writer(buffer, fastavro.parse_schema(schema), [{"next": None}])
    with pytest.raises(MinosSerializationException, match="recursive"):
        decode_value(buffer.getvalue())
