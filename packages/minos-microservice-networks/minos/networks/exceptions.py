"""Errors of the networking layer."""

from __future__ import annotations

from minos.common import MinosException

__all__ = [
    "MinosNetworkException",
    "MinosHandlerException",
    "MinosActionNotFoundException",
    "MinosHandlerNotFoundEnoughEntriesException",
    "MinosRedefinedEnrouteDecoratorException",
    "MinosMultipleEnrouteDecoratorKindsException",
    "MinosDiscoveryConnectorException",
]


class MinosNetworkException(MinosException):
    """Base of the networking errors."""


class MinosHandlerException(MinosNetworkException):
    """A message could not be handled."""


class MinosActionNotFoundException(MinosHandlerException):
    """No handler is registered for a topic or route."""


class MinosHandlerNotFoundEnoughEntriesException(MinosHandlerException):
    """A reply did not arrive in time."""


class MinosRedefinedEnrouteDecoratorException(MinosNetworkException):
    """Two handlers claim the same route or topic."""


class MinosMultipleEnrouteDecoratorKindsException(MinosNetworkException):
    """A handler is decorated with route kinds that cannot be combined."""


class MinosDiscoveryConnectorException(MinosNetworkException):
    """The discovery service could not be configured or reached."""
