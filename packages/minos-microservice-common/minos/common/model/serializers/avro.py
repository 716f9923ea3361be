"""Avro encoding of models and values, with the writer schema inside the bytes.

Layout of the bytes: ``b"MA\\x01"``, the schema length (4 bytes, big endian),
the writer schema as JSON, then the Avro binary datum (fastavro's schemaless
encoding). Carrying the schema keeps every message self-describing, so bytes
written by an older version of a model are read after fields with defaults were
added, and values of unknown classes are rebuilt as ``DataTransferObject``s. It
is cheaper than an object container (no header map, sync markers or blocks), and
both the parsed writer schema and the decoding plan are cached per schema, so
repeated messages of one type parse nothing but the datum. Avro object container
bytes (``fastavro.writer``) are also read.
"""

from __future__ import annotations

import io
import re
import struct
import weakref
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Optional, Union
from uuid import UUID

import fastavro
import orjson
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from ..abc import Model, ModelType
from ..codecs.base import Codec, remember
from ..codecs.compiler import codec_for
from ..codecs.models import Evolution, Shape
from ..codecs.unions import untag
from ..exceptions import (
    EmptyMinosModelSequenceException,
    MinosModelAttributeException,
    MinosModelException,
    MinosSerializationException,
    MultiTypeMinosModelSequenceException,
)
from ..names import check_field_name, lookup
from ..types import EntitySet, ModelRef, NoneType, ValueObjectSet, type_repr
from ..types.inference import UninferableValue, infer_type
from .limits import SchemaFacts, prepare_schema, scan

__all__ = ["encode_value", "decode_value", "avro_schema_of"]

MAGIC = b"MA\x01"
_CONTAINER_MAGIC = b"Obj\x01"
_HEADER = struct.Struct(">I")


class _Writer:
    """Everything needed to encode values of one concrete type."""

    __slots__ = ("prefix", "parsed", "convert", "schema")

    def __init__(self, hint: Any) -> None:
        codec = codec_for(hint)
        self.schema = codec.schema(set())
        text = orjson.dumps(self.schema)
        self.prefix = MAGIC + _HEADER.pack(len(text)) + text
        self.parsed = parse_schema(self.schema)
        self.convert = codec.to_avro


# Bytes from outside may carry ever new schemas and names: every cache filled
# from them is bounded (the oldest entries are forgotten first).
_WRITERS: dict[Any, _Writer] = {}
_READERS: dict[tuple[bytes, Any], tuple[Any, Any, Any]] = {}
_LAST: dict[Any, tuple[bytes, Any, Any, Any]] = {}
_MAX_READERS = 1024
_MAX_WRITERS = 1024


def _writer(hint: Any) -> _Writer:
    key = hint if isinstance(hint, type) else (hint, repr(hint))
    writer = _WRITERS.get(key)
    if writer is None:
        try:
            writer = _Writer(hint)
        except MinosModelException:
            raise
        except Exception as error:
            raise MinosSerializationException(
                f"cannot encode {type_repr(hint)}: {type(error).__name__}: {error}"
            ) from None
        remember(_WRITERS, key, writer, _MAX_WRITERS)
    return writer


def _concrete(value: Any) -> Any:
    """The concrete type hint of a value (static model classes answer fast)."""
    cls = type(value)
    if isinstance(value, Model):
        if cls.__dict__.get("_avro_static"):
            return cls
        hint = codec_for(cls).concretize(value)
        if hint is cls:
            cls._avro_static = True
        return hint
    try:
        return infer_type(value)
    except UninferableValue as error:
        raise MinosSerializationException(
            f"cannot encode {type(value).__name__}: {error}"
        ) from None
    except RecursionError:
        raise _too_deep(value) from None


def _too_deep(value: Any) -> MinosSerializationException:
    return MinosSerializationException(
        f"cannot encode {type(value).__name__}: it nests too deep or refers to itself"
    )


def encode_value(value: Any) -> bytes:
    """Encode any supported value (a model, list, dict, UUID, scalar...) as bytes.

    ``decode_value`` returns an equal value: models come back as their class when
    it is defined at module level of an imported module, else as a
    ``DataTransferObject`` with the same name and fields.
    """
    try:
        hint = _concrete(value)
    except (UninferableValue, TypeError) as error:
        raise MinosSerializationException(
            f"cannot encode {type(value).__name__}: {error}"
        ) from None
    except RecursionError:
        raise _too_deep(value) from None
    writer = _writer(hint)
    convert = writer.convert
    try:
        datum = convert(value) if convert is not None else value
        buffer = io.BytesIO()
        buffer.write(writer.prefix)
        schemaless_writer(buffer, writer.parsed, datum)
    except MinosModelException:
        raise
    except RecursionError:
        raise _too_deep(value) from None
    except Exception as error:
        raise MinosSerializationException(
            f"cannot encode {type(value).__name__}: {type(error).__name__}: {error}"
        ) from error
    return buffer.getvalue()


def decode_value(data: bytes) -> Any:
    """Decode bytes written by ``encode_value`` (or an Avro object container)."""
    return _decode(data, None)


def encode_models(models: list[Model]) -> bytes:
    """Encode a non-empty list of models of one type."""
    if not models:
        raise EmptyMinosModelSequenceException(
            "to_avro_bytes needs at least one model to know the schema"
        )
    names = {type(model).__name__ for model in models if isinstance(model, Model)}
    if len(names) != 1 or not all(isinstance(model, Model) for model in models):
        raise MultiTypeMinosModelSequenceException(
            "to_avro_bytes needs models of one type, got "
            f"{sorted(type(model).__name__ for model in models)}"
        )
    return encode_value(list(models))


def decode_model_bytes(cls: type[Model], data: bytes) -> Any:
    """Decode model bytes, reading the (top-level) records as ``cls``."""
    target = cls if cls._declared_hints_or_none() else None
    value = _decode(data, target)
    if isinstance(value, Model):
        return value
    if not isinstance(value, list) or not all(isinstance(i, Model) for i in value):
        raise MinosSerializationException(
            f"the bytes hold a {type(value).__name__}, not {cls.__name__} models"
        )
    return value


def _decode(data: bytes, target: Any) -> Any:
    last = _LAST.get(target)
    if last is not None and type(data) is bytes and data.startswith(last[0]):
        # The common case: the same writer schema as the previous message.
        prefix, parsed, decode, facts = last
        end = len(prefix)
    else:
        end, parsed, decode, facts = _header(data, target)
        data = bytes(data)
        if end < 0:
            return _decode_container(data, target)
        _LAST[target] = (data[:end], parsed, decode, facts)
    if facts is not None:
        scan(data, end, parsed, facts)
    buffer = io.BytesIO(data)
    buffer.seek(end)
    try:
        datum = schemaless_reader(buffer, parsed, None, return_named_type=True)
    except Exception as error:
        raise MinosSerializationException(
            f"malformed Avro data: {type(error).__name__}: {error}"
        ) from None
    if buffer.tell() != len(data):
        raise MinosSerializationException("malformed Avro data: trailing bytes")
    if decode is None:
        return datum
    return _run(decode, datum)


def _header(data: Any, target: Any) -> tuple[int, Any, Any, Any]:
    """Read the header: where the datum starts, the parsed schema and the plan."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise MinosSerializationException(
            f"expected bytes to decode, got {type(data).__name__}"
        )
    data = bytes(data)
    if data[:4] == _CONTAINER_MAGIC:
        return -1, None, None, None
    if data[:3] != MAGIC or len(data) < 7:
        raise MinosSerializationException(
            "the bytes are not minos Avro data (bad header); they must come from "
            "encode_value or avro_bytes"
        )
    (size,) = _HEADER.unpack_from(data, 3)
    end = 7 + size
    schema_bytes = data[7:end]
    key = (schema_bytes, target)
    reader = _READERS.get(key)
    if reader is None:
        if len(schema_bytes) != size:
            raise MinosSerializationException("the bytes are truncated (schema)")
        try:
            schema = orjson.loads(schema_bytes)
        except orjson.JSONDecodeError as error:
            raise MinosSerializationException(
                f"malformed schema in bytes: {error}"
            ) from None
        reader = remember(_READERS, key, _reader(schema, target), _MAX_READERS)
    return end, reader[0], reader[1], reader[2]


def _run(decode: Any, datum: Any) -> Any:
    if decode is None:
        return datum
    try:
        return decode(datum)
    except MinosModelAttributeException:
        raise
    except MinosModelException as error:
        raise MinosSerializationException(f"the data cannot be read: {error}") from None
    except RecursionError:
        raise MinosSerializationException("the data nests too deep") from None
    except Exception as error:
        raise MinosSerializationException(
            f"the data does not match its schema: {type(error).__name__}: {error}"
        ) from None


def _decode_container(data: bytes, target: Any) -> Any:
    try:
        reader = fastavro.reader(io.BytesIO(data), return_named_type=True)
        schema = _strip(prepare_schema(reader.writer_schema))
        if SchemaFacts(schema).risky:
            # Limitation: container blocks are not pre-checked, so schemas that
            # need it (recursive, arrays of zero-byte items) are refused.
            raise MinosSerializationException(
                "Avro containers with recursive schemas or arrays of zero-byte "
                "items are not read; send them as minos Avro bytes"
            )
        records = list(reader)
    except MinosModelException:
        raise
    except Exception as error:
        raise MinosSerializationException(
            f"malformed Avro container: {type(error).__name__}: {error}"
        ) from None
    _, decode, _ = _reader(schema, target)
    values = [_run(decode, record) for record in records]
    return values[0] if len(values) == 1 else values


def _strip(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _strip(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_strip(item) for item in schema]
    return schema


def _reader(schema: Any, target: Any) -> tuple[Any, Any, Any]:
    """Parse a writer schema and plan how to turn its data into values.

    Returns the parsed schema, the decoding function and, for schemas whose data
    must be checked before fastavro reads it, their ``SchemaFacts``.
    """
    schema = prepare_schema(schema)
    try:
        parsed = parse_schema(schema)
    except Exception as error:
        raise MinosSerializationException(
            f"invalid Avro schema in bytes: {error}"
        ) from None
    try:
        stripped = _strip(parsed)
        facts = SchemaFacts(stripped)
        hint = SchemaTypes(target, facts).hint(stripped, root=True)
        codec = codec_for(hint)
    except MinosSerializationException:
        raise
    except Exception as error:
        raise MinosSerializationException(
            f"cannot decode data of schema {_short(schema)}: {error}"
        ) from None
    return parsed, codec.from_avro, facts if facts.risky else None


def _short(schema: Any) -> str:
    text = orjson.dumps(schema).decode()
    return text if len(text) < 200 else text[:197] + "..."


_PRIMITIVES = {
    "null": NoneType,
    "boolean": bool,
    "int": int,
    "long": int,
    "float": float,
    "double": float,
    "bytes": bytes,
    "string": str,
}
_LOGICAL = {
    "string-uuid": UUID,
    "long-timestamp-micros": datetime,
    "long-timestamp-millis": datetime,
    "long-local-timestamp-micros": datetime,
    "long-local-timestamp-millis": datetime,
    "int-date": date,
    "long-time-micros": time,
    "int-time-millis": time,
    "long-timedelta-micros": timedelta,
    "bytes-big-decimal": Decimal,
    "bytes-decimal": Decimal,
    "fixed-decimal": Decimal,
}
#: Enums built for symbols read from bytes, while something holds them.
_ENUMS: weakref.WeakValueDictionary[tuple[str, tuple[str, ...]], type[Enum]] = (
    weakref.WeakValueDictionary()
)
_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class SchemaTypes:
    """Derives type hints from a (fastavro-parsed) writer schema."""

    def __init__(self, target: Any = None, facts: SchemaFacts | None = None) -> None:
        self.target = target
        self.facts = facts
        self.named: dict[str, Any] = {}

    def hint(self, schema: Any, root: bool = False) -> Any:
        """The type hint of a schema; ``root`` records are read as the target."""
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVES[schema]
            if schema in self.named:
                return self.named[schema]
            raise KeyError(f"unknown named type {schema!r}")
        if isinstance(schema, list):
            return self._union(schema)
        kind = schema["type"]
        logical = schema.get("logicalType")
        if logical is not None and f"{kind}-{logical}" in _LOGICAL:
            return _LOGICAL[f"{kind}-{logical}"]
        if kind == "record" or kind == "error":
            return self._record(schema, root)
        if kind == "enum":
            return self._enum(schema)
        if kind == "array":
            # The records of a top-level list are read as the target too.
            item = self.hint(schema["items"], root=root)
            container = {
                "set": set,
                "entity-set": EntitySet,
                "value-object-set": ValueObjectSet,
            }.get(logical, list)
            if container is EntitySet:
                _check_entities(item)
            return container[item]
        if kind == "map":
            return dict[str, self.hint(schema["values"])]  # type: ignore[misc]
        if kind == "fixed":
            return bytes
        return self.hint(kind)

    def _union(self, schema: list[Any]) -> Any:
        hints = [self.hint(branch) for branch in schema]
        others = [h for h in hints if h is not NoneType]
        if len(others) == 2 and UUID in others:
            model = others[0] if others[1] is UUID else others[1]
            if isinstance(model, type) and issubclass(model, Model):
                ref = ModelRef[model]  # type: ignore[valid-type]
                return ref if len(hints) == 2 else Optional[ref]  # noqa: UP045
        if len(others) == 1 and len(hints) == 2:
            return Optional[others[0]]  # noqa: UP045 - built at runtime
        return Union[tuple(hints)]  # noqa: UP007

    def _record(self, schema: dict[str, Any], root: bool) -> Any:
        fullname = schema["name"]
        cls = self.target if root and self.target is not None else lookup(fullname)
        if not _concrete_model(cls):
            cls = None
        if self.facts is not None and fullname in self.facts.recursive:
            if cls is None or not _recursive(cls):
                raise MinosSerializationException(
                    f"the writer schema defines {fullname!r} recursively, but no "
                    "recursive model of that name is defined here"
                )
        if cls is not None:
            codec_for(cls)  # registers the enums the class uses
            self.named[fullname] = cls
        fields = {}
        for entry in schema["fields"]:
            check_field_name(fullname, entry["name"], MinosSerializationException)
            fields[entry["name"]] = self.hint(entry["type"])
        if cls is None:
            namespace, _, name = fullname.rpartition(".")
            dto = ModelType.build(name, fields, namespace or None)
            self.named[fullname] = dto
            return dto
        if cls._per_instance_fields:
            return Shape(cls, tuple(fields.items()))
        declared = cls._declared_hints()
        if list(declared) != list(fields):
            return Evolution(cls, tuple(fields.items()), fullname)
        concrete = False
        for name, hint in fields.items():
            expected = declared[name]
            if expected is Any:
                concrete = True
            elif repr(expected) != repr(hint) or expected != hint:
                return Evolution(cls, tuple(fields.items()), fullname)
        if concrete:
            # Same fields; the ``Any`` ones hold the written types.
            return Shape(cls, tuple(fields.items()))
        return cls

    def _enum(self, schema: dict[str, Any]) -> Any:
        fullname = schema["name"]
        symbols = tuple(schema["symbols"])
        found = lookup(fullname)
        if isinstance(found, type) and issubclass(found, Enum):
            if set(symbols) <= set(found.__members__):
                self.named[fullname] = found
                return found
        key = (fullname, symbols)
        enum = _ENUMS.get(key)
        if enum is None:
            enum = _ENUMS[key] = _build_enum(fullname, symbols)
        self.named[fullname] = enum
        return enum


def _build_enum(fullname: str, symbols: tuple[str, ...]) -> type[Enum]:
    """An enum standing for one read from bytes (never registered by name)."""
    for symbol in symbols:
        if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
            raise MinosSerializationException(
                f"enum {fullname!r}: {symbol!r} is not an acceptable symbol "
                "(a letter, then letters, digits or '_')"
            )
    if len(set(symbols)) != len(symbols):
        raise MinosSerializationException(f"enum {fullname!r}: repeated symbols")
    namespace, _, name = fullname.rpartition(".")
    try:
        enum = Enum(name, [(s, s) for s in symbols])  # type: ignore[misc]
    except (ValueError, TypeError) as error:
        raise MinosSerializationException(
            f"enum {fullname!r} cannot be built: {error}"
        ) from None
    enum._avro_name = (name, namespace or None)  # type: ignore[attr-defined]
    enum._from_bytes = True  # type: ignore[attr-defined]
    return enum


def _concrete_model(cls: Any) -> bool:
    """Whether a class found by name can hold records (not an abstract base)."""
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        return False
    return cls._per_instance_fields or cls._declared_hints_or_none() is not None


def _recursive(cls: type[Model]) -> bool:
    """Whether a model class refers to itself through its fields."""
    if cls._per_instance_fields:
        return False
    start = codec_for(cls)
    seen: set[int] = set()
    stack = list(start.children())
    while stack:
        codec = stack.pop()
        if codec is start:
            return True
        if id(codec) in seen:
            continue
        seen.add(id(codec))
        stack.extend(codec.children())
    return False


def _check_entities(item: Any) -> None:
    """Entity sets hold models with a ``uuid`` (they are keyed by it)."""
    hints: Any = None
    if isinstance(item, Shape):
        hints = dict(item.fields)
    elif isinstance(item, type) and issubclass(item, Model):
        hints = item._declared_hints_or_none()
    if not hints or hints.get("uuid") is not UUID:
        raise MinosSerializationException(
            f"an entity set holds records with a uuid field, not {type_repr(item)}"
        )


# --- the Model-facing helpers ---------------------------------------------------------


def avro_schema_of(value: Any) -> Any:
    """The Avro schema ``encode_value`` writes for this value (a fresh copy)."""
    return orjson.loads(orjson.dumps(_writer(_concrete(value)).schema))


def model_schema(model: Any) -> dict[str, Any]:
    """The record schema of a model instance or a static model class."""
    if isinstance(model, type):
        codec: Codec = codec_for(model)
        if not codec.static:
            raise MinosSerializationException(
                f"{model.__name__} holds Any: its schema depends on the values; "
                "ask an instance"
            )
        return orjson.loads(orjson.dumps(_writer(model).schema))  # type: ignore
    return avro_schema_of(model)  # type: ignore[no-any-return]


def model_datum(model: Model) -> dict[str, Any]:
    """The Avro datum of a model, as fastavro writes it."""
    plain = codec_for(_concrete(model)).to_plain
    return plain(model) if plain is not None else model  # type: ignore[no-any-return]


def decode_datum(cls: type[Model], schema: Any, data: Any) -> Any:
    """Build a value from an Avro schema (dict, or list holding one) and its datum."""
    if isinstance(schema, list) and len(schema) == 1:
        schema = schema[0]
    target = cls if cls._declared_hints_or_none() else None
    key = (orjson.dumps(schema), target)
    reader = _READERS.get(key)
    if reader is None:
        reader = remember(_READERS, key, _reader(schema, target), _MAX_READERS)
    return _run(reader[1], untag(data))
