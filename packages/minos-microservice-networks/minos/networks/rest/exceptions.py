"""Errors of the REST interface: each carries the HTTP status it answers with."""

from __future__ import annotations

from ..exceptions import MinosNetworkException

__all__ = [
    "RestException",
    "BadRequestException",
    "RequestTooLargeException",
    "RequestTimeoutException",
    "ClientDisconnectedException",
    "InvalidResultException",
    "RestRouteException",
]


class RestException(MinosNetworkException):
    """Base of the REST errors; ``status`` is the HTTP status sent to the client."""

    status: int = 500


class BadRequestException(RestException):
    """The request cannot be read: bad JSON, wrong content type, bad header."""

    status = 400


class RequestTooLargeException(RestException):
    """The request body is over the configured size limit."""

    status = 413


class RequestTimeoutException(RestException):
    """The request body did not arrive within ``rest.body_timeout`` seconds."""

    status = 408


class ClientDisconnectedException(RestException):
    """The client went away before its request body was read; nobody to answer."""

    status = 400


class InvalidResultException(RestException):
    """A handler returned something that cannot be sent: a bad status, NaN..."""

    status = 500


class RestRouteException(RestException):
    """A REST route cannot be served: bad path pattern or two handlers for one."""
