"""Snapshots: the latest state of every aggregate, queryable by condition."""

from .conditions import Condition
from .exceptions import (
    MinosPreviousVersionSnapshotException,
    MinosSnapshotAggregateNotFoundException,
    MinosSnapshotDeletedAggregateException,
    MinosSnapshotException,
    MinosSnapshotNotProvidedException,
    MinosSnapshotQueryException,
)
from .ordering import Ordering

__all__ = [
    "Condition",
    "MinosPreviousVersionSnapshotException",
    "MinosSnapshotAggregateNotFoundException",
    "MinosSnapshotDeletedAggregateException",
    "MinosSnapshotException",
    "MinosSnapshotNotProvidedException",
    "MinosSnapshotQueryException",
    "Ordering",
]
