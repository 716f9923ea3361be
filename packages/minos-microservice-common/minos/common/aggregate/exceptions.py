"""Errors of aggregates."""

from __future__ import annotations

from ..exceptions import MinosException

__all__ = [
    "MinosAggregateException",
    "MinosAggregateNotProvidedException",
    "MinosBrokerNotProvidedException",
]


class MinosAggregateException(MinosException):
    """An aggregate operation cannot be done (wrong diff, unknown class...)."""


class MinosAggregateNotProvidedException(MinosAggregateException):
    """A collaborator of aggregates (repository, snapshot, broker) is missing."""


class MinosBrokerNotProvidedException(MinosAggregateNotProvidedException):
    """No event broker was given and none is registered in the container."""
