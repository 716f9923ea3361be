"""JSON for HTTP bodies: what handlers return becomes bytes on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["to_json", "from_json"]

# UUID, datetime, date, time, enums and dataclasses are native to orjson;
# non-string keys (a UUID-keyed dict) are written as strings.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if callable(getattr(value, "keys", None)) and hasattr(value, "__getitem__"):
        return {key: value[key] for key in value.keys()}
    raise TypeError(f"{type(value).__qualname__} cannot be rendered as JSON")


def to_json(data: Any) -> bytes:
    """Render a handler's result (models, lists, mappings, UUIDs...) as JSON."""
    return orjson.dumps(data, default=_default, option=_OPTIONS)


def from_json(body: bytes | str) -> Any:
    """Parse a JSON document; raises ``ValueError`` when it is not valid JSON."""
    return orjson.loads(body)
