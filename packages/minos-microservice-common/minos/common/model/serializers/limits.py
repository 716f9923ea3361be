"""Bounds on writer schemas and data read from outside, checked before fastavro reads.

fastavro's compiled reader recurses on the C stack and trusts declared counts, so
bytes from the network are first checked here: schemas nest at most
``MAX_SCHEMA_DEPTH`` types; a schema whose named types refer to themselves, or
whose arrays hold items encoded in zero bytes (``null``, empty records, fixed of
size 0), is "risky" and its data is walked once in Python, refusing nesting
deeper than ``MAX_DATA_DEPTH`` and more than ``MAX_EMPTY_ITEMS`` zero-byte items.
"""

from __future__ import annotations

import struct
from typing import Any

from ..exceptions import MinosSerializationException

__all__: list[str] = []

#: Types nested in one writer schema (records, arrays, maps, unions...).
MAX_SCHEMA_DEPTH = 64
#: Records, arrays and maps nested in the data of a recursive schema.
MAX_DATA_DEPTH = 200
#: Array items encoded in zero bytes in one message (each still costs memory).
MAX_EMPTY_ITEMS = 65_536

_LOCAL = {
    "local-timestamp-micros": "timestamp-micros",
    "local-timestamp-millis": "timestamp-millis",
}
_FIXED_SIZES = {"boolean": 1, "float": 4, "double": 8}
_DOUBLE = struct.Struct("<d")


def prepare_schema(schema: Any, depth: int = 0) -> Any:
    """A copy of a writer schema, depth-checked, with local timestamps read as UTC.

    Avro local timestamps carry no timezone; minos holds datetimes in UTC, so
    their values are read as UTC instants.
    """
    if depth > MAX_SCHEMA_DEPTH:
        raise MinosSerializationException(
            f"the writer schema nests types too deep (more than {MAX_SCHEMA_DEPTH})"
        )
    if isinstance(schema, list):
        return [prepare_schema(item, depth + 1) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {}
    for key, value in schema.items():
        if key == "logicalType" and value in _LOCAL:
            value = _LOCAL[value]
        elif isinstance(value, (dict, list)):
            value = prepare_schema(value, depth + 1)
        result[key] = value
    return result


class SchemaFacts:
    """What makes a (fastavro-parsed) schema risky to read with the compiled reader."""

    __slots__ = ("named", "recursive", "empty_items")

    def __init__(self, parsed: Any) -> None:
        self.named: dict[str, Any] = {}
        self.recursive: set[str] = set()
        self.empty_items = False
        self._walk(parsed, [])

    @property
    def risky(self) -> bool:
        """Whether the data must be walked (bounded) before fastavro reads it."""
        return bool(self.recursive) or self.empty_items

    def _walk(self, schema: Any, open_names: list[str]) -> None:
        if isinstance(schema, str):
            if schema in open_names:
                self.recursive.add(schema)
            return
        if isinstance(schema, list):
            for branch in schema:
                self._walk(branch, open_names)
            return
        if not isinstance(schema, dict):
            return
        kind = schema.get("type")
        if isinstance(kind, (dict, list)):
            self._walk(kind, open_names)
            return
        name = schema.get("name")
        if isinstance(name, str) and kind in ("record", "error", "enum", "fixed"):
            self.named[name] = schema
        if kind in ("record", "error"):
            open_names.append(name)
            for entry in schema.get("fields", ()):
                self._walk(entry.get("type"), open_names)
            open_names.pop()
        elif kind == "array":
            items = schema.get("items")
            self._walk(items, open_names)
            if self.zero_size(items, set()):
                self.empty_items = True
        elif kind == "map":
            self._walk(schema.get("values"), open_names)

    def zero_size(self, schema: Any, seen: set[str]) -> bool:
        """Whether values of a schema can be encoded in zero bytes."""
        if isinstance(schema, str):
            if schema == "null":
                return True
            target = self.named.get(schema)
            if target is None or schema in seen:
                return False
            return self.zero_size(target, seen | {schema})
        if isinstance(schema, list):
            return False
        if not isinstance(schema, dict):
            return False
        kind = schema.get("type")
        if kind == "fixed":
            return schema.get("size") == 0
        if kind in ("record", "error"):
            name = schema.get("name")
            inner = seen | {name} if isinstance(name, str) else seen
            return all(
                self.zero_size(entry.get("type"), inner)
                for entry in schema.get("fields", ())
            )
        if kind in ("array", "map", "enum") or kind is None:
            return False
        return self.zero_size(kind, seen)


class _Scanner:
    """Walks Avro binary data against its schema without building values."""

    __slots__ = ("data", "pos", "facts", "empty")

    def __init__(self, data: bytes, pos: int, facts: SchemaFacts) -> None:
        self.data = data
        self.pos = pos
        self.facts = facts
        self.empty = 0

    def long(self) -> int:
        data, pos = self.data, self.pos
        shift = result = 0
        while True:
            if pos >= len(data) or shift > 63:
                raise MinosSerializationException("malformed Avro data: bad varint")
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        self.pos = pos
        return (result >> 1) ^ -(result & 1)

    def skip(self, size: int) -> None:
        if size < 0 or self.pos + size > len(self.data):
            raise MinosSerializationException("malformed Avro data: truncated")
        self.pos += size

    def value(self, schema: Any, depth: int) -> None:
        if isinstance(schema, str):
            if schema == "null":
                return
            if schema in ("int", "long"):
                self.long()
                return
            if schema in ("bytes", "string"):
                self.skip(self.long())
                return
            size = _FIXED_SIZES.get(schema)
            if size is not None:
                self.skip(size)
                return
            target = self.facts.named.get(schema)
            if target is None:
                raise MinosSerializationException(f"unknown named type {schema!r}")
            self.value(target, depth)
            return
        if isinstance(schema, list):
            index = self.long()
            if not 0 <= index < len(schema):
                raise MinosSerializationException(
                    "malformed Avro data: union index out of range"
                )
            self.value(schema[index], depth)
            return
        kind = schema["type"]
        if kind in ("record", "error", "array", "map"):
            depth += 1
            if depth > MAX_DATA_DEPTH:
                raise MinosSerializationException(
                    f"the data nests too deep (more than {MAX_DATA_DEPTH} levels)"
                )
        if kind in ("record", "error"):
            for entry in schema["fields"]:
                self.value(entry["type"], depth)
        elif kind == "array":
            self._blocks(schema["items"], depth, False)
        elif kind == "map":
            self._blocks(schema["values"], depth, True)
        elif kind == "fixed":
            self.skip(schema["size"])
        elif kind == "enum":
            index = self.long()
            if not 0 <= index < len(schema["symbols"]):
                raise MinosSerializationException(
                    "malformed Avro data: enum index out of range"
                )
        else:
            self.value(kind, depth)

    def _blocks(self, items: Any, depth: int, keyed: bool) -> None:
        empty = not keyed and self.facts.zero_size(items, set())
        while True:
            count = self.long()
            if count == 0:
                return
            if count < 0:
                count = -count
                self.long()  # the block's size in bytes
            if empty:
                self.empty += count
                if self.empty > MAX_EMPTY_ITEMS:
                    raise MinosSerializationException(
                        f"the data declares more than {MAX_EMPTY_ITEMS} array items "
                        "encoded in zero bytes"
                    )
            elif count > len(self.data) - self.pos:
                raise MinosSerializationException(
                    "malformed Avro data: more items declared than bytes left"
                )
            for _ in range(count):
                if keyed:
                    self.skip(self.long())
                self.value(items, depth)


def scan(data: bytes, offset: int, parsed: Any, facts: SchemaFacts) -> None:
    """Check the data of a risky schema: bounded depth and zero-byte item counts."""
    scanner = _Scanner(data, offset, facts)
    scanner.value(parsed, 0)
    if scanner.pos != len(data):
        raise MinosSerializationException("malformed Avro data: trailing bytes")
