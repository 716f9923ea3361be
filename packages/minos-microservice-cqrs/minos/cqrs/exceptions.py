"""Errors of the CQRS services."""

from __future__ import annotations

from minos.common import MinosException

__all__ = ["MinosCqrsException", "MinosIllegalHandlingException"]


class MinosCqrsException(MinosException):
    """Base of the CQRS errors."""


class MinosIllegalHandlingException(MinosCqrsException):
    """A service declares a handler its side of CQRS must not have."""
