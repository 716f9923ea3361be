"""The JSON document of an aggregate that snapshot queries look into."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from ..model import EntitySet, Model, ValueObjectSet, to_json_data
from .exceptions import MinosSnapshotQueryException

__all__ = ["document_value", "field_path", "scalar_kind"]

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def field_path(field: Any) -> tuple[str, ...]:
    """Split ``"address.city"`` into identifier segments, rejecting anything else."""
    if not isinstance(field, str) or not field:
        raise MinosSnapshotQueryException(
            f"A field name must be a non-empty string such as 'address.city', "
            f"not {field!r}"
        )
    segments = tuple(field.split("."))
    for segment in segments:
        if not _SEGMENT.match(segment):
            raise MinosSnapshotQueryException(
                f"Invalid field name {field!r}: each dot-separated part must be an "
                f"identifier (letters, digits and '_', not starting with a digit)"
            )
    return segments


def document_value(value: Any) -> Any:
    """Turn a field value into JSON: what snapshot queries compare against.

    The models' JSON form (UUIDs, dates, decimals and durations as strings,
    bytes as base64, sets as arrays), with datetimes in UTC so they compare as
    strings. The same conversion applies to condition values, so a condition
    compares like with like on every backend. Decimals stay exact strings;
    queries on ``Decimal`` fields or with ``Decimal`` values read them as
    numbers (exactly on PostgreSQL and in memory, as doubles on SQLite, where
    more than 15 significant digits compare approximately).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, Model):
        # Field names may shadow mapping methods (a field called ``items``).
        values = value.__dict__
        return {name: document_value(values[name]) for name in value._field_hints()}
    if isinstance(value, Mapping):
        return {str(key): document_value(item) for key, item in value.items()}
    if isinstance(value, set | frozenset | ValueObjectSet):
        return sorted((document_value(item) for item in value), key=_sort_key)
    if isinstance(value, list | tuple | EntitySet):
        return [document_value(item) for item in value]
    if isinstance(value, Enum):
        return document_value(value.value)
    return to_json_data(value)


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
