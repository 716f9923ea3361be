"""Errors of message encoding and decoding."""

from __future__ import annotations

from ..exceptions import MinosNetworkException

__all__ = ["MinosMessageException", "MinosMessageDecodeException"]


class MinosMessageException(MinosNetworkException):
    """A message could not be built or encoded."""


class MinosMessageDecodeException(MinosMessageException):
    """Bytes received from the broker are not a message this code can read."""
