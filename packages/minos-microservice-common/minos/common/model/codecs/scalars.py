"""Codecs of the scalar field types: numbers, text, bytes, time, UUID, Decimal, Enum."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any
from uuid import UUID

from fastavro.read import LOGICAL_READERS
from fastavro.write import LOGICAL_WRITERS

from ..names import avro_name, register
from ..types import NoneType, inference
from .base import RANK_LOGICAL, RANK_NAMED, RANK_NULL, Codec

__all__: list[str] = []

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class NoneCodec(Codec):
    hint = NoneType
    exact = NoneType
    rank = RANK_NULL
    kind = "null"
    decoded_type = NoneType

    def validate(self, value: Any) -> Any:
        if value is None:
            return None
        raise self.mismatch(value)

    def schema(self, defined: set[str]) -> Any:
        return "null"


class IntCodec(Codec):
    hint = int
    kind = "long"
    decoded_type = int

    def validate(self, value: Any) -> Any:
        if type(value) is int or (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            if _INT64_MIN <= value <= _INT64_MAX:
                return int(value)
            raise self.mismatch(value, "out of the 64-bit range")
        raise self.mismatch(value)

    def owns(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def schema(self, defined: set[str]) -> Any:
        return "long"


class FloatCodec(Codec):
    hint = float
    exact = float
    kind = "double"
    decoded_type = float

    def validate(self, value: Any) -> Any:
        if type(value) is float:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:
                raise self.mismatch(value, "too large for a float") from None
        raise self.mismatch(value)

    def schema(self, defined: set[str]) -> Any:
        return "double"


def encodable(text: str) -> bool:
    """Whether a string can be written as UTF-8 (no lone surrogates)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StrCodec(Codec):
    """Text; strings holding lone surrogates are refused (UTF-8 cannot hold them).

    ``exact`` is unset so that containers validate every item; ASCII strings (the
    common case) are accepted after one constant-time check.
    """

    hint = str
    kind = "string"
    decoded_type = str

    def validate(self, value: Any) -> Any:
        if type(value) is not str:
            if not isinstance(value, str):
                raise self.mismatch(value)
            value = str.__str__(value)
        if value.isascii() or encodable(value):
            return value
        raise self.mismatch(value, "it holds lone surrogates, not valid text")

    def owns(self, value: Any) -> bool:
        return isinstance(value, str)

    def schema(self, defined: set[str]) -> Any:
        return "string"


class BoolCodec(Codec):
    hint = bool
    exact = bool
    kind = "boolean"
    decoded_type = bool

    def validate(self, value: Any) -> Any:
        if value is True or value is False:
            return value
        raise self.mismatch(value)

    def schema(self, defined: set[str]) -> Any:
        return "boolean"


class BytesCodec(Codec):
    hint = bytes
    exact = bytes
    kind = "bytes"
    decoded_type = bytes
    json_differs = True

    def validate(self, value: Any) -> Any:
        if type(value) is bytes:
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise self.mismatch(value)

    def from_json(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise self.mismatch(value, "not valid base64") from None
        return self.validate(value)

    def schema(self, defined: set[str]) -> Any:
        return "bytes"


class UUIDCodec(Codec):
    hint = UUID
    exact = UUID
    kind = "string"
    rank = RANK_LOGICAL
    decoded_type = UUID

    def validate(self, value: Any) -> Any:
        if isinstance(value, UUID):
            return value
        if isinstance(value, str):
            try:
                return UUID(value)
            except ValueError:
                raise self.mismatch(value, "not a UUID") from None
        raise self.mismatch(value)

    def schema(self, defined: set[str]) -> Any:
        return {"type": "string", "logicalType": "uuid"}


class DatetimeCodec(Codec):
    """Datetimes are held timezone-aware in UTC; naive ones are taken as UTC."""

    hint = datetime
    kind = "long"
    rank = RANK_LOGICAL
    decoded_type = datetime

    def validate(self, value: Any) -> Any:
        if isinstance(value, datetime):
            tz = value.tzinfo
            if tz is UTC:
                return value
            if tz is None:
                return value.replace(tzinfo=UTC)
            try:
                return value.astimezone(UTC)
            except OverflowError:
                raise self.mismatch(value, "out of range in UTC") from None
        if isinstance(value, str):
            try:
                return self.validate(datetime.fromisoformat(value))
            except ValueError:
                raise self.mismatch(value, "not an ISO 8601 datetime") from None
        raise self.mismatch(value)

    def owns(self, value: Any) -> bool:
        return isinstance(value, datetime)

    def schema(self, defined: set[str]) -> Any:
        return {"type": "long", "logicalType": "timestamp-micros"}


class DateCodec(Codec):
    hint = date
    exact = date
    kind = "int"
    rank = RANK_LOGICAL
    decoded_type = date

    def validate(self, value: Any) -> Any:
        if type(value) is date:
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise self.mismatch(value, "not an ISO 8601 date") from None
        raise self.mismatch(value)

    def owns(self, value: Any) -> bool:
        return type(value) is date

    def schema(self, defined: set[str]) -> Any:
        return {"type": "int", "logicalType": "date"}


class TimeCodec(Codec):
    """Times of day without timezone (Avro ``time-micros`` carries none)."""

    hint = time
    kind = "long"
    rank = RANK_LOGICAL
    decoded_type = time

    def validate(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = time.fromisoformat(value)
            except ValueError:
                raise self.mismatch(value, "not an ISO 8601 time") from None
        if isinstance(value, time):
            if value.tzinfo is not None:
                raise self.mismatch(value, "times must not carry a timezone")
            return value
        raise self.mismatch(value)

    def owns(self, value: Any) -> bool:
        return isinstance(value, time)

    def schema(self, defined: set[str]) -> Any:
        return {"type": "long", "logicalType": "time-micros"}


_DURATION = re.compile(
    r"(-)?P(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,6}))?S)?)?"
)


def format_duration(value: timedelta) -> str:
    """An exact ISO 8601 duration (``P1DT2.5S``, ``-PT0.000001S``)."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    text = f"{sign}P{value.days}D" if value.days else f"{sign}P"
    seconds, micros = value.seconds, value.microseconds
    if seconds or micros or not value.days:
        fraction = f".{micros:06d}".rstrip("0") if micros else ""
        text += f"T{seconds}{fraction}S"
    return text


def parse_duration(text: str) -> timedelta | None:
    """Parse an ISO 8601 duration without years or months (None if invalid)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or text.strip() in ("P", "-P") or text.rstrip().endswith("T"):
        return None
    sign, weeks, days, hours, minutes, seconds, fraction = match.groups()
    value = timedelta(
        weeks=int(weeks or 0),
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        seconds=int(seconds or 0),
        microseconds=int((fraction or "").ljust(6, "0")),
    )
    return -value if sign else value


_DURATION_MIN = timedelta(microseconds=_INT64_MIN)
_DURATION_MAX = timedelta(microseconds=_INT64_MAX)


class TimedeltaCodec(Codec):
    """Durations; numbers are seconds, strings ISO 8601 durations (``P1DT2.5S``).
    Avro: ``long`` microseconds."""

    hint = timedelta
    kind = "long"
    rank = RANK_LOGICAL
    decoded_type = timedelta

    def validate(self, value: Any) -> Any:
        if isinstance(value, timedelta):
            result = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                result = timedelta(seconds=value)
            except (OverflowError, ValueError):
                raise self.mismatch(value, "out of range or not a number") from None
        elif isinstance(value, str):
            try:
                parsed = parse_duration(value)
            except (OverflowError, ValueError):
                parsed = None
            if parsed is None:
                raise self.mismatch(value, "not an ISO 8601 duration like P1DT2.5S")
            result = parsed
        else:
            raise self.mismatch(value)
        if not _DURATION_MIN <= result <= _DURATION_MAX:
            raise self.mismatch(
                value, "out of range (Avro holds durations as 64-bit microseconds)"
            )
        return result

    def owns(self, value: Any) -> bool:
        return isinstance(value, timedelta)

    def schema(self, defined: set[str]) -> Any:
        return {"type": "long", "logicalType": "timedelta-micros"}


#: Digits of a storable decimal (Python converts at most 4300 digits to text).
MAX_DECIMAL_DIGITS = 4000
#: Exponent range of a storable decimal (the default decimal context's).
MAX_DECIMAL_EXPONENT = 999_999


class DecimalCodec(Codec):
    """Exact decimals of any scale. Avro: ``bytes``, logical type ``big-decimal``."""

    hint = Decimal
    kind = "bytes"
    rank = RANK_LOGICAL
    decoded_type = Decimal

    def validate(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            try:
                result = Decimal(value)
            except InvalidOperation:
                raise self.mismatch(value, "not a decimal number") from None
        elif isinstance(value, float):
            result = Decimal(repr(value))
        else:
            raise self.mismatch(value)
        if not result.is_finite():
            raise self.mismatch(value, "decimals must be finite")
        digits, exponent = len(result.as_tuple().digits), result.as_tuple().exponent
        if digits > MAX_DECIMAL_DIGITS:
            raise self.mismatch(
                value, f"more than {MAX_DECIMAL_DIGITS} digits cannot be stored"
            )
        if not -MAX_DECIMAL_EXPONENT <= exponent <= MAX_DECIMAL_EXPONENT:  # type: ignore[operator]
            raise self.mismatch(
                value, f"exponents beyond ±{MAX_DECIMAL_EXPONENT} cannot be stored"
            )
        return result

    def owns(self, value: Any) -> bool:
        return isinstance(value, Decimal)

    def schema(self, defined: set[str]) -> Any:
        return {"type": "bytes", "logicalType": "big-decimal"}


class EnumCodec(Codec):
    """Enum members; plain values are looked up by value. Avro: ``enum`` of names."""

    rank = RANK_NAMED
    kind = "enum"
    decoded_type = str

    def __init__(self, enum: type[Enum]) -> None:
        register(enum)  # found again by name when bytes name it
        self.hint = enum
        self.exact = enum
        name, namespace = avro_name(enum)
        self.avro_name = name
        self.namespace = namespace
        self.name = f"{namespace}.{name}" if namespace else name
        self.symbols = list(enum.__members__)
        self.to_avro = _enum_name
        self.to_plain = _enum_name
        self.from_avro = enum.__members__.__getitem__

    def validate(self, value: Any) -> Any:
        enum = self.hint
        if type(value) is enum:
            return value
        try:
            member = enum(value)
        except (ValueError, TypeError):
            member = None
        if member is None or (
            type(member.value) is not type(value) and not isinstance(value, Enum)
        ):
            # ``True`` and ``1.0`` equal ``1`` but are not the value ``1``.
            raise self.mismatch(value, f"not one of {[m.value for m in enum]!r}")
        return member

    def schema(self, defined: set[str]) -> Any:
        if self.name in defined:
            return self.name
        defined.add(self.name)
        schema: dict[str, Any] = {
            "type": "enum",
            "name": self.avro_name,
            "symbols": self.symbols,
        }
        if self.namespace:
            schema["namespace"] = self.namespace
        return schema


def _enum_name(member: Enum) -> str:
    return member.name


class AnyCodec(Codec):
    """Any value minos can serialize; its Avro type is inferred from the value."""

    hint = Any
    intrinsically_dynamic = True

    @property
    def describe(self) -> str:
        return "Any"

    def validate(self, value: Any) -> Any:
        # Anything is held; values minos cannot serialize are refused on encoding,
        # naming the model and field.
        return value

    def owns(self, value: Any) -> bool:
        return True

    def schema(self, defined: set[str]) -> Any:
        raise TypeError("the schema of Any depends on the value; concretize first")

    def concretize(self, value: Any) -> Any:
        return inference.infer_type(value)


SCALARS: dict[Any, Codec] = {
    NoneType: NoneCodec(),
    int: IntCodec(),
    float: FloatCodec(),
    str: StrCodec(),
    bool: BoolCodec(),
    bytes: BytesCodec(),
    UUID: UUIDCodec(),
    datetime: DatetimeCodec(),
    date: DateCodec(),
    time: TimeCodec(),
    timedelta: TimedeltaCodec(),
    Decimal: DecimalCodec(),
}


# --- fastavro logical types for durations and exact decimals -------------------------


def _write_timedelta(value: Any, schema: Any) -> Any:
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    return value


def _read_timedelta(value: int, writer: Any = None, reader: Any = None) -> timedelta:
    return timedelta(microseconds=value)


def _zigzag(number: int) -> bytes:
    number = (number << 1) ^ (number >> 63) if -(2**63) <= number < 2**63 else None
    if number is None:
        raise ValueError("decimal scale out of range")
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _unzigzag(data: bytes, offset: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    return (result >> 1) ^ -(result & 1), offset


def _write_decimal(value: Any, schema: Any) -> Any:
    """Avro 1.12 ``big-decimal`` layout: unscaled two's complement bytes, then scale."""
    if not isinstance(value, Decimal):
        return value
    sign, digits, exponent = value.as_tuple()
    unscaled = int("".join(map(str, digits)) or "0")
    if sign:
        unscaled = -unscaled
    size = (unscaled + (unscaled < 0)).bit_length() // 8 + 1
    raw = unscaled.to_bytes(size, "big", signed=True)
    return _zigzag(len(raw)) + raw + _zigzag(-int(exponent))


def _read_decimal(value: bytes, writer: Any = None, reader: Any = None) -> Decimal:
    size, offset = _unzigzag(value, 0)
    if size < 0 or offset + size > len(value):
        raise ValueError("malformed big-decimal: bad size")
    unscaled = int.from_bytes(value[offset : offset + size], "big", signed=True)
    scale, end = _unzigzag(value, offset + size)
    if end != len(value):
        raise ValueError("malformed big-decimal: trailing bytes")
    sign = 1 if unscaled < 0 else 0
    return Decimal((sign, tuple(int(c) for c in str(abs(unscaled))), -scale))


LOGICAL_WRITERS["long-timedelta-micros"] = _write_timedelta
LOGICAL_READERS["long-timedelta-micros"] = _read_timedelta
LOGICAL_WRITERS["bytes-big-decimal"] = _write_decimal
LOGICAL_READERS["bytes-big-decimal"] = _read_decimal
