"""Errors of the transports."""

from __future__ import annotations

from ..exceptions import MinosNetworkException

__all__ = [
    "TransportException",
    "TransportUnavailableException",
    "TransportClosedException",
    "TransportRecordRejectedException",
]


class TransportException(MinosNetworkException):
    """A transport could not publish or receive records."""


class TransportUnavailableException(TransportException):
    """The broker cannot be reached now; retry later, nothing is lost."""


class TransportClosedException(TransportException):
    """A subscription or transport was used after it was closed."""


class TransportRecordRejectedException(TransportException):
    """The broker refuses this record for good (too large...); do not retry it."""
