"""Checking the timeouts sagas accept: positive, finite numbers of seconds."""

from __future__ import annotations

import math
from typing import Any

from .exceptions import MinosSagaExecutionStatusException

__all__ = ["check_timeout"]


def check_timeout(value: Any, what: str = "the reply timeout") -> float | None:
    """Return ``value`` as seconds (``None``: no limit); raise if it is not one.

    Booleans, strings, NaN, infinities, zero and negative numbers are refused.
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise MinosSagaExecutionStatusException(
            f"{what} must be a positive, finite number of seconds (or None for no "
            f"limit), not {value!r}"
        )
    return float(value)
