"""The root of every error minos raises, and the errors shared across packages."""

from __future__ import annotations

__all__ = [
    "MinosException",
    "MinosConfigException",
    "MinosImportException",
    "MinosDatabaseException",
    "MinosDatabaseConnectionException",
]


class MinosException(Exception):
    """Base of every minos error; ``message`` is the text shown to the user."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class MinosConfigException(MinosException):
    """The configuration is missing, unreadable or invalid."""


class MinosImportException(MinosException):
    """A dotted path does not name an importable object."""


class MinosDatabaseException(MinosException):
    """A database operation failed."""


class MinosDatabaseConnectionException(MinosDatabaseException):
    """The database server could not be reached."""
