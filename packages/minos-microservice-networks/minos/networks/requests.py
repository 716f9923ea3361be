"""Requests and responses: what every handler receives and returns.

The same handler can be reached over REST and over the broker, so both
transports hand it a ``Request`` and read back a ``Response``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from .exceptions import MinosNetworkException

__all__ = [
    "Request",
    "InMemoryRequest",
    "Response",
    "ResponseException",
    "USER_HEADER",
    "is_valid_response_status",
]

# The header (REST) or message header (broker) carrying the caller's user id.
USER_HEADER = "X-User"


class Request(ABC):
    """What a handler is called with."""

    @property
    @abstractmethod
    def user(self) -> UUID | None:
        """The id of the user making the request, when known."""

    @property
    def headers(self) -> Mapping[str, str]:
        """Transport headers (HTTP headers, or message headers)."""
        return {}

    @property
    def has_content(self) -> bool:
        return True

    @abstractmethod
    async def content(self, **kwargs: Any) -> Any:
        """The request's payload: a mapping for REST, the message data for brokers."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user={self.user!r})"


class InMemoryRequest(Request):
    """A request built in code: for tests and in-process calls."""

    def __init__(
        self,
        content: Any = None,
        user: UUID | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._content = content
        self._user = user
        self._headers = dict(headers or {})

    @property
    def user(self) -> UUID | None:
        return self._user

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    @property
    def has_content(self) -> bool:
        return self._content is not None

    async def content(self, **kwargs: Any) -> Any:
        return self._content

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, InMemoryRequest)
            and self._content == other._content
            and self._user == other._user
        )

    __hash__ = None  # type: ignore[assignment]


# Statuses whose HTTP answers carry no body.
_NO_BODY_STATUSES = frozenset({204, 304})


class Response:
    """What a handler returns: any model, list, mapping, UUID or plain value.

    ``status`` is an HTTP status from 200 to 599 (errors are usually raised
    as ``ResponseException`` instead); 204 and 304 carry no data.
    """

    __slots__ = ("_data", "status")

    def __init__(self, data: Any = None, *, status: int = 200) -> None:
        if not is_valid_response_status(status):
            raise MinosNetworkException(
                f"Invalid response status {status!r}: use an HTTP status from "
                "200 to 599 (raise ResponseException for errors)"
            )
        if status in _NO_BODY_STATUSES and data is not None:
            raise MinosNetworkException(
                f"A {status} response has no body, but data was given "
                f"({type(data).__name__}); return Response(None, status={status}) "
                "or use status 200"
            )
        self._data = data
        self.status = int(status)

    @property
    def data(self) -> Any:
        return self._data

    @property
    def has_content(self) -> bool:
        return self._data is not None

    async def content(self, **kwargs: Any) -> Any:
        return self._data

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Response)
            and self._data == other._data
            and self.status == other.status
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Response({self._data!r})"


class ResponseException(MinosNetworkException):
    """A handler's expected failure: an HTTP 400 or an ``ERROR`` command reply.

    Whatever it is given, ``message`` is a string (``str()`` of a non-string,
    ``""`` for ``None``) and ``status`` an HTTP error status: an integer from
    400 to 599, else 400.
    """

    def __init__(self, message: Any = "", status: Any = 400) -> None:
        if message is None:
            message = ""
        elif not isinstance(message, str):
            message = _safe_str(message)
        super().__init__(message)
        self.status: int = int(status) if _is_error_status(status) else 400


def is_valid_response_status(status: Any) -> bool:
    """Whether ``status`` may be sent as a handler's answer: an int in 200..599."""
    return _is_int(status) and 200 <= status <= 599


def _is_error_status(status: Any) -> bool:
    return _is_int(status) and 400 <= status <= 599


def _is_int(value: Any) -> bool:
    # ``HTTPStatus`` members are ints; ``True`` is not a status.
    return isinstance(value, int) and not isinstance(value, bool)


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
