"""A JSON-safe encoding of saga context values that reads back to equal values.

JSON has no UUID, datetime, bytes, set or model, so every value that is not a
plain string, boolean, finite number, ``None`` or list is written as a
one-key object naming its kind: ``{"uuid": "..."}``, ``{"datetime": "..."}``,
``{"dict": [[key, value], ...]}``, ``{"model": "<base64>"}``... Lists are JSON
arrays of encoded values. Models (aggregates, entities, value objects, DTOs)
are written with the models' own Avro value codec, whose bytes carry their
schema: they come back as instances of their class when it is importable, and
as equal ``DataTransferObject``s otherwise (``ModelType.build`` types).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from minos.common import MinosImportException, Model
from minos.common import decode_value as decode_model_value
from minos.common import encode_value as encode_model_value

from ..exceptions import MinosSagaSerializationException
from ..paths import object_path, resolve_class

__all__ = ["encode_value", "decode_value"]

_INT_LIMIT = 1 << 63  # JSON encoders refuse wider integers


def encode_value(value: Any, *, where: str = "value") -> Any:
    """Return ``value`` as JSON-safe data; ``where`` names it in errors."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return {"enum": [_class_path(value, where), encode_value(value.value)]}
    if isinstance(value, int):
        return value if -_INT_LIMIT < value < _INT_LIMIT else {"int": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, list):
        return [
            encode_value(item, where=f"{where}[{i}]") for i, item in enumerate(value)
        ]
    if isinstance(value, Model):
        return {"model": _encode_model(value, where)}

    for kind, encoder in _ENCODERS:
        if isinstance(value, kind):
            return encoder(value, where)
    raise MinosSagaSerializationException(
        f"the saga context value {where!r} is a {type(value).__name__}, which "
        "cannot be stored; use models, UUIDs, dates, numbers, strings, bytes, "
        "enums, lists, tuples, sets or dicts of them"
    )


def decode_value(data: Any, *, where: str = "value") -> Any:
    """Return the value ``encode_value`` turned into ``data``."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [
            decode_value(item, where=f"{where}[{i}]") for i, item in enumerate(data)
        ]
    if isinstance(data, dict) and len(data) == 1:
        ((kind, payload),) = data.items()
        decoder = _DECODERS.get(kind)
        if decoder is not None:
            try:
                return decoder(payload, where)
            except MinosSagaSerializationException:
                raise
            except Exception as exc:
                raise MinosSagaSerializationException(
                    f"the stored saga context value {where!r} ({kind}) cannot be "
                    f"read back: {type(exc).__name__}: {exc}"
                ) from exc
    raise MinosSagaSerializationException(
        f"the stored saga context value {where!r} is not in the saga encoding: "
        f"{str(data)[:80]!r}"
    )


def _class_path(value: Any, where: str) -> str:
    path = object_path(type(value))
    if path is None:
        raise MinosSagaSerializationException(
            f"the saga context value {where!r} is a {type(value).__qualname__} "
            "whose class cannot be imported again; define it at module level"
        )
    return path


def _encode_model(value: Model, where: str) -> str:
    try:
        data = encode_model_value(value)
    except Exception as exc:
        raise MinosSagaSerializationException(
            f"the saga context value {where!r} ({type(value).__name__}) cannot be "
            f"encoded: {exc}"
        ) from exc
    return base64.b64encode(data).decode()


def _base64(payload: Any) -> bytes:
    if not isinstance(payload, str):
        raise TypeError(f"base64 text expected, not {type(payload).__name__}")
    return base64.b64decode(payload, validate=True)


def _decode_model(payload: str, where: str) -> Any:
    return decode_model_value(_base64(payload))


def _decode_enum(payload: list[Any], where: str) -> Enum:
    if not isinstance(payload, list) or len(payload) != 2:
        raise TypeError("an enum is stored as [class path, value]")
    cls = _import_enum(payload[0], where)
    member: Enum = cls(decode_value(payload[1], where=where))
    return member


def _import_enum(path: Any, where: str) -> type[Enum]:
    try:
        return resolve_class(path, Enum)
    except MinosImportException as exc:
        raise MinosSagaSerializationException(
            f"the stored saga context value {where!r} needs the enum {path!r}, "
            f"which cannot be imported ({exc}); keep the class at its path or "
            "migrate the data"
        ) from exc


def _items(values: Any, where: str) -> list[Any]:
    return [encode_value(item, where=f"{where}[{i}]") for i, item in enumerate(values)]


def _encode_mapping(value: Mapping[Any, Any], where: str) -> dict[str, Any]:
    from .context import SagaContext

    if isinstance(value, SagaContext):
        return {"context": value.raw}
    return {
        "dict": [
            [encode_value(key, where=where), encode_value(item, where=f"{where}.{key}")]
            for key, item in value.items()
        ]
    }


def _decode_context(payload: Mapping[str, Any], where: str) -> Any:
    from .context import SagaContext

    return SagaContext.from_raw(payload, where=where)


def _encode_datetime(value: datetime, where: str) -> dict[str, str]:
    return {"datetime": value.isoformat()}


_ENCODERS: list[tuple[type | tuple[type, ...], Callable[[Any, str], Any]]] = [
    (Mapping, _encode_mapping),
    (tuple, lambda value, where: {"tuple": _items(value, where)}),
    (frozenset, lambda value, where: {"frozenset": _items(value, where)}),
    (set, lambda value, where: {"set": _items(value, where)}),
    (
        (bytes, bytearray),
        lambda value, where: {"bytes": base64.b64encode(value).decode()},
    ),
    (UUID, lambda value, where: {"uuid": str(value)}),
    (datetime, _encode_datetime),
    (date, lambda value, where: {"date": value.isoformat()}),
    (time, lambda value, where: {"time": value.isoformat()}),
    (
        timedelta,
        lambda value, where: {
            "timedelta": [value.days, value.seconds, value.microseconds]
        },
    ),
    (Decimal, lambda value, where: {"decimal": str(value)}),
]

_DECODERS: dict[str, Callable[[Any, str], Any]] = {
    "int": lambda payload, where: int(payload),
    "float": lambda payload, where: float(payload),
    "enum": _decode_enum,
    "model": _decode_model,
    "context": _decode_context,
    "dict": lambda payload, where: {
        decode_value(key, where=where): decode_value(item, where=where)
        for key, item in payload
    },
    "tuple": lambda payload, where: tuple(
        decode_value(i, where=where) for i in payload
    ),
    "frozenset": lambda payload, where: frozenset(
        decode_value(i, where=where) for i in payload
    ),
    "set": lambda payload, where: {decode_value(i, where=where) for i in payload},
    "bytes": lambda payload, where: _base64(payload),
    "uuid": lambda payload, where: UUID(payload),
    "datetime": lambda payload, where: datetime.fromisoformat(payload),
    "date": lambda payload, where: date.fromisoformat(payload),
    "time": lambda payload, where: time.fromisoformat(payload),
    "timedelta": lambda payload, where: timedelta(*payload),
    "decimal": lambda payload, where: Decimal(payload),
}
