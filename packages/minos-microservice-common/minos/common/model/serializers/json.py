"""JSON for HTTP: plain data (UUIDs, datetimes and decimals as strings) and bytes."""

from __future__ import annotations

import base64
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

from ..abc import Model
from ..codecs.scalars import format_duration
from ..exceptions import MinosSerializationException
from ..types import EntitySet, ValueObjectSet

__all__ = ["to_json_data", "json_dumps", "json_loads"]

JsonValue = Any


def to_json_data(value: Any) -> JsonValue:
    """Plain JSON-compatible data for a value.

    Models become objects of their fields; UUIDs, datetimes, durations (ISO 8601)
    and decimals strings; bytes base64; sets lists; enums their values.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, Model):
        d = value.__dict__
        return {name: to_json_data(d[name]) for name in value._field_hints()}
    if isinstance(value, (list, tuple, set, frozenset, EntitySet, ValueObjectSet)):
        return [to_json_data(item) for item in value]
    if isinstance(value, dict):
        return {_key(key): to_json_data(item) for key, item in value.items()}
    return _scalar(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (UUID, int, float, bool, Enum)):
        return str(to_json_data(key))
    raise MinosSerializationException(
        f"JSON object keys must be strings, got {type(key).__name__} ({key!r:.60})"
    )


def _scalar(value: Any) -> JsonValue:
    if isinstance(value, Enum):
        return to_json_data(value.value)
    if isinstance(value, (str, int, float)):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise MinosSerializationException(
        f"values of type {type(value).__name__} cannot be written as JSON"
    )


def _default(value: Any) -> Any:
    """orjson fallback for what it does not serialize natively."""
    if isinstance(value, Model):
        d = value.__dict__
        return {name: d[name] for name in value._field_hints()}
    if isinstance(value, (set, frozenset, EntitySet, ValueObjectSet)):
        return list(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, bytes, bytearray, memoryview, timedelta)):
        return _scalar(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"values of type {type(value).__name__} cannot be written as JSON")


# Limitation: orjson (3.13) writes ``time`` microseconds wrongly ("00:00:00.10000"
# for 10 ms), so datetimes, dates and times are passed through to ``isoformat``.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def json_dumps(value: Any) -> bytes:
    """Encode a value (models included) as JSON bytes, like ``to_json_data``."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except TypeError as error:
        raise MinosSerializationException(f"cannot write JSON: {error}") from None


def json_loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON text or bytes (a clear error for malformed input)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise MinosSerializationException(f"malformed JSON: {error}") from None
