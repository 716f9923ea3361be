"""JSON for HTTP: plain data (UUIDs, datetimes and decimals as strings) and bytes.

JSON loses types Avro keeps: UUIDs, datetimes, dates, times, durations, decimals
and bytes (base64) are all strings, sets are lists, enums their values. Reading
JSON back into a ``Union`` therefore takes the first branch, in declared order,
that accepts the JSON value: ``Union[str, UUID]`` reads every string as ``str``,
``Union[UUID, str]`` reads a string that parses as a UUID as a ``UUID``, and
``Union[bytes, str]`` reads any valid base64 string as bytes. Declare the most
specific branch first when a union must round-trip through JSON. NaN and the
infinities have no JSON form and are refused.
"""

from __future__ import annotations

import base64
import math
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
    try:
        return _data(value)
    except RecursionError:
        raise _too_deep(value) from None


def _too_deep(value: Any) -> MinosSerializationException:
    return MinosSerializationException(
        f"cannot write {type(value).__name__} as JSON: it nests too deep or refers "
        "to itself"
    )


def _data(value: Any) -> JsonValue:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if isinstance(value, Model):
        d = value.__dict__
        return {name: _data(d[name]) for name in value._field_hints()}
    if isinstance(value, (list, tuple, set, frozenset, EntitySet, ValueObjectSet)):
        return [_data(item) for item in value]
    if isinstance(value, dict):
        return {_key(key): _data(item) for key, item in value.items()}
    return _scalar(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, (UUID, int, float, bool, Enum)):
        return str(_data(key))
    raise MinosSerializationException(
        f"JSON object keys must be strings, got {type(key).__name__} ({key!r:.60})"
    )


def _scalar(value: Any) -> JsonValue:
    if isinstance(value, Enum):
        return _data(value.value)
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
    """Encode a value (models included) as JSON bytes, like ``to_json_data``.

    Non-finite floats (NaN, infinities) are refused: JSON has no form for them.
    """
    try:
        text = orjson.dumps(value, default=_default, option=_OPTIONS)
    except TypeError as error:
        raise MinosSerializationException(f"cannot write JSON: {error}") from None
    except RecursionError:
        raise _too_deep(value) from None
    # orjson writes non-finite floats as null: look for them only when a null is
    # in the output (most payloads have none, so they pay one bytes search).
    if b"null" in text and _non_finite(value, 0):
        raise MinosSerializationException(
            "cannot write JSON: NaN and infinite floats have no JSON form; "
            "use None or a finite number"
        )
    return text


def _non_finite(value: Any, depth: int) -> bool:
    """Whether a value (already written by orjson, so finite in depth) holds a
    NaN or an infinity."""
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is str or kind is int or kind is bool or value is None:
        return False
    if isinstance(value, Model):
        d = value.__dict__
        return any(_non_finite(d[name], depth + 1) for name in value._field_hints())
    if isinstance(value, dict):
        return any(_non_finite(item, depth + 1) for item in value.values())
    if isinstance(value, (list, tuple, set, frozenset, EntitySet, ValueObjectSet)):
        return any(_non_finite(item, depth + 1) for item in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    return False


def json_loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parse JSON text or bytes (a clear error for malformed input)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise MinosSerializationException(f"malformed JSON: {error}") from None
