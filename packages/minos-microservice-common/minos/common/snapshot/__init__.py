"""Snapshots: the latest state of every aggregate, queryable by condition."""

from .abc import MinosSnapshot, SnapshotRow
from .conditions import Condition
from .database import DatabaseSnapshot, PostgreSqlSnapshot, SqliteSnapshot
from .exceptions import (
    MinosPreviousVersionSnapshotException,
    MinosSnapshotAggregateNotFoundException,
    MinosSnapshotDeletedAggregateException,
    MinosSnapshotException,
    MinosSnapshotNotProvidedException,
    MinosSnapshotQueryException,
)
from .memory import InMemorySnapshot
from .ordering import Ordering

__all__ = [
    "Condition",
    "DatabaseSnapshot",
    "InMemorySnapshot",
    "MinosPreviousVersionSnapshotException",
    "MinosSnapshot",
    "MinosSnapshotAggregateNotFoundException",
    "MinosSnapshotDeletedAggregateException",
    "MinosSnapshotException",
    "MinosSnapshotNotProvidedException",
    "MinosSnapshotQueryException",
    "Ordering",
    "PostgreSqlSnapshot",
    "SnapshotRow",
    "SqliteSnapshot",
]
