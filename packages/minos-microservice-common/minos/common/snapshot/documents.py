"""The JSON document of an aggregate that snapshot queries look into."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

__all__ = ["document_value", "field_path", "scalar_kind"]

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def field_path(field: Any) -> tuple[str, ...]:
    """Split ``"address.city"`` into identifier segments, rejecting anything else."""
    if not isinstance(field, str) or not field:
        from .exceptions import MinosSnapshotQueryException

        raise MinosSnapshotQueryException(
            f"A field name must be a non-empty string such as 'address.city', "
            f"not {field!r}"
        )
    segments = tuple(field.split("."))
    for segment in segments:
        if not _SEGMENT.match(segment):
            from .exceptions import MinosSnapshotQueryException

            raise MinosSnapshotQueryException(
                f"Invalid field name {field!r}: each dot-separated part must be an "
                f"identifier (letters, digits and '_', not starting with a digit)"
            )
    return segments


def document_value(value: Any) -> Any:
    """Turn a field value into JSON: what snapshot queries compare against.

    Models become objects of their fields, UUIDs and dates ISO strings, sets
    and lists arrays; the same conversion applies to condition values, so a
    condition compares like with like on every backend.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in _INFINITIES else None
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return document_value(value.value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    fields = _model_fields(value)
    if fields is not None:
        return {name: document_value(item) for name, item in fields.items()}
    if isinstance(value, Mapping):
        return {str(key): document_value(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        items = [document_value(item) for item in value]
        return sorted(items, key=_sort_key)
    if isinstance(value, list | tuple) or hasattr(value, "__iter__"):
        return [document_value(item) for item in value]
    return str(value)


_INFINITIES = (float("inf"), float("-inf"))


def _model_fields(value: Any) -> Mapping[str, Any] | None:
    """The field values of a model, or ``None`` for anything else."""
    from ..model.abc import Model

    if isinstance(value, Model):
        # Field names may shadow mapping methods (a field called ``items``).
        values = value.__dict__
        return {name: values[name] for name in value._field_hints()}
    return None


def _sort_key(value: Any) -> tuple[int, str]:
    return (0 if value is None else 1, repr(value))


def scalar_kind(value: Any) -> str:
    """The JSON kind of a document scalar: null, boolean, number or string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"
