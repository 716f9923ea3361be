"""Errors of the snapshot store."""

from __future__ import annotations

from ..exceptions import MinosException

__all__ = [
    "MinosSnapshotException",
    "MinosSnapshotAggregateNotFoundException",
    "MinosSnapshotDeletedAggregateException",
    "MinosPreviousVersionSnapshotException",
    "MinosSnapshotQueryException",
    "MinosSnapshotNotProvidedException",
]


class MinosSnapshotException(MinosException):
    """The snapshot store refused or failed an operation."""


class MinosSnapshotAggregateNotFoundException(MinosSnapshotException):
    """No aggregate with that name and uuid was ever stored."""


class MinosSnapshotDeletedAggregateException(MinosSnapshotException):
    """The aggregate existed but has been deleted."""


class MinosPreviousVersionSnapshotException(MinosSnapshotException):
    """A change older than the stored version was applied to a snapshot."""


class MinosSnapshotQueryException(MinosSnapshotException):
    """A condition or an ordering is malformed (bad field name, bad value...)."""


class MinosSnapshotNotProvidedException(MinosSnapshotException):
    """No snapshot store was given and none is registered in the container."""
