"""Errors of the event store."""

from __future__ import annotations

from uuid import UUID

from ..exceptions import MinosException

__all__ = [
    "MinosRepositoryException",
    "MinosRepositoryConflictException",
    "MinosRepositoryNotProvidedException",
]


class MinosRepositoryException(MinosException):
    """The event store refused or failed an operation."""


class MinosRepositoryConflictException(MinosRepositoryException):
    """A change does not follow the stored history of its aggregate.

    Most often two writers saved the same version concurrently: reload the
    aggregate (``refresh()``) and apply the change again.
    """

    def __init__(
        self,
        message: str,
        *,
        aggregate_name: str | None = None,
        aggregate_uuid: UUID | None = None,
        version: int | None = None,
        last_version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.aggregate_name = aggregate_name
        self.aggregate_uuid = aggregate_uuid
        self.version = version
        self.last_version = last_version


class MinosRepositoryNotProvidedException(MinosRepositoryException):
    """No event store was given and none is registered in the container."""
