"""Errors of the key-value storage."""

from __future__ import annotations

from ..exceptions import MinosException

__all__ = ["MinosStorageException"]


class MinosStorageException(MinosException):
    """A key-value storage could not be opened, read or written."""
