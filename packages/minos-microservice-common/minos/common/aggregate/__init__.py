"""Event-sourced aggregates and their diffs."""

from .diffs import AggregateDiff, FieldDiff, FieldDiffContainer, IncrementalFieldDiff
from .exceptions import (
    MinosAggregateException,
    MinosAggregateNotProvidedException,
    MinosBrokerNotProvidedException,
)
from .model import NULL_DATETIME, Aggregate

__all__ = [
    "Aggregate",
    "AggregateDiff",
    "FieldDiff",
    "FieldDiffContainer",
    "IncrementalFieldDiff",
    "MinosAggregateException",
    "MinosAggregateNotProvidedException",
    "MinosBrokerNotProvidedException",
    "NULL_DATETIME",
]
