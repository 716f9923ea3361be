"""The request a REST handler receives: JSON body, path and query arguments, user."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError

from minos.common import MinosSerializationException, json_loads

from ..requests import USER_HEADER, Request
from .exceptions import (
    BadRequestException,
    ClientDisconnectedException,
    RequestTimeoutException,
    RequestTooLargeException,
)

__all__ = ["RestRequest", "DEFAULT_MAX_BODY_SIZE", "DEFAULT_BODY_TIMEOUT"]

# The largest request body accepted unless ``rest.max_body_size`` says otherwise.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024

# How long a client may take to send its whole request body, in seconds.
DEFAULT_BODY_TIMEOUT = 30.0

# The canonical text form of a UUID, the only one accepted in ``X-User``.
_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    re.IGNORECASE | re.ASCII,
)

# A run of 20 digits or more: possibly an integer beyond 64 bits, which orjson
# would turn into a float. Such bodies are parsed by the standard library.
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{20,}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{20,}", re.ASCII)

# The longest integer accepted in a body, in digits (Python's own default limit
# on converting text to int, which bounds the quadratic conversion cost).
MAX_INTEGER_DIGITS = 4300

_UTF8 = {"utf-8", "utf8"}


class RestRequest(Request):
    """An HTTP request as a handler sees it.

    ``await content()`` is the JSON body. When the body is an object (or there
    is no body) the result is one dict: the body's keys, then the query
    arguments over them, then the path arguments over both, so the resource
    named by the path always wins. When the body is a list or a scalar it is
    returned as it is and the arguments are only available through
    ``path_args`` and ``query_args``. Path and query values are strings; a query
    argument given several times is a list of strings.

    Build it with ``await RestRequest.read(raw)``: the body is read and
    checked before the handler runs, so a bad body or ``X-User`` header is a
    400 whether or not the handler looks at it.
    """

    def __init__(self, raw: web.Request, body: Any = None) -> None:
        self.raw = raw
        self._user = _parse_user(raw.headers.getall(USER_HEADER, []))
        self._body = body
        self._content: Any = None

    @classmethod
    async def read(
        cls,
        raw: web.Request,
        *,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> RestRequest:
        """Read (within ``body_timeout`` s), size-check and parse ``raw``'s body."""
        request = cls(raw)
        request._body = await _read_body(raw, max_body_size, body_timeout)
        return request

    @property
    def user(self) -> UUID | None:
        return self._user

    @property
    def headers(self) -> Mapping[str, str]:
        return self.raw.headers

    @property
    def path_args(self) -> dict[str, str]:
        """The arguments matched by the route's path pattern."""
        return dict(self.raw.match_info)

    @property
    def query_args(self) -> dict[str, str | list[str]]:
        """The query string, one value per key or a list for repeated keys."""
        query = self.raw.query
        result: dict[str, str | list[str]] = {}
        for key in query.keys():
            if key not in result:
                values = query.getall(key)
                result[key] = values[0] if len(values) == 1 else values
        return result

    @property
    def has_content(self) -> bool:
        return self._body is not None or bool(self.raw.match_info or self.raw.query)

    async def content(self, **kwargs: Any) -> Any:
        if self._content is None:
            self._content = self._merge()
        return self._content

    def _merge(self) -> Any:
        body = self._body
        if body is not None and not isinstance(body, dict):
            return body
        merged: dict[str, Any] = dict(body) if body else {}
        if self.raw.query:
            merged.update(self.query_args)
        if self.raw.match_info:
            merged.update(self.raw.match_info)
        return merged


def _parse_user(values: list[str]) -> UUID | None:
    if not values:
        return None
    if len(values) > 1:
        raise BadRequestException(
            f"The {USER_HEADER} header must be sent once, got {len(values)} values "
            "(the caller's identity is ambiguous)"
        )
    value = values[0]
    if _CANONICAL_UUID.fullmatch(value) is None:
        raise BadRequestException(
            f"The {USER_HEADER} header must be a UUID in its canonical form "
            f"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), got {_shorten(value)!r}"
        )
    return UUID(value)


async def _read_body(raw: web.Request, max_body_size: int, body_timeout: float) -> Any:
    if not raw.body_exists:
        return None

    length = raw.content_length
    if length is not None and length > max_body_size:
        raise _too_large(max_body_size)
    if hdrs.CONTENT_TYPE in raw.headers and not _is_json(raw.content_type):
        raise BadRequestException(
            f"The request body must be JSON (Content-Type: application/json), "
            f"got Content-Type {_shorten(raw.content_type)!r}"
        )

    # The headers are bounded by the handler's keepalive_timeout, the body here.
    try:
        async with asyncio.timeout(body_timeout):
            data = await raw.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(max_body_size) from None
    except TimeoutError:
        raise RequestTimeoutException(
            f"The request body did not arrive within {body_timeout:g} s "
            "(rest.body_timeout)"
        ) from None
    except (web.RequestPayloadError, HttpProcessingError) as exc:
        # Limitation: aiohttp then drains the rest of the body itself, fails
        # the same way and logs it as an "Unhandled exception" (aiohttp.server)
        # after the client got this 400.
        raise BadRequestException(
            f"The request body cannot be read: {_payload_problem(exc)}"
        ) from None
    except ConnectionError as exc:
        raise ClientDisconnectedException(
            f"The client disconnected while sending the body ({exc or 'reset'})"
        ) from None
    if not data:
        return None
    if len(data) > max_body_size:
        raise _too_large(max_body_size)

    charset = (raw.charset or "utf-8").lower()
    try:
        text: bytes | str = data if charset in _UTF8 else data.decode(charset)
    except LookupError:
        raise BadRequestException(
            f"Unknown charset {charset!r} in Content-Type; send UTF-8 JSON"
        ) from None
    except UnicodeDecodeError as exc:
        raise BadRequestException(
            f"The request body is not valid {charset}: {exc}"
        ) from None

    return parse_json_body(text)


def parse_json_body(text: bytes | str) -> Any:
    """Parse a JSON body exactly: integers of any size stay integers.

    Numbers JSON cannot hold as Python values (non-finite floats such as
    ``1e400`` or ``NaN``) and integers longer than Python's conversion limit
    are a 400.
    """
    long_digits = (
        _LONG_DIGITS_BYTES.search(text)
        if isinstance(text, bytes)
        else _LONG_DIGITS_TEXT.search(text)
    )
    if long_digits is None:
        try:
            return json_loads(text)
        except MinosSerializationException as exc:
            raise BadRequestException(
                f"The request body is not valid JSON ({exc.message})"
            ) from None
    try:
        return json.loads(
            text,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        raise BadRequestException(
            f"The request body is not valid JSON ({exc.msg}: line {exc.lineno} "
            f"column {exc.colno})"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestException(
            f"The request body is not valid JSON: {exc}"
        ) from None


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {_shorten(text, 40)} is too large for a float")
    return value


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise ValueError(
            f"an integer has {digits} digits, more than the limit of "
            f"{MAX_INTEGER_DIGITS}"
        )
    return int(text)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _payload_problem(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) and message else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.endswith("message:")]
    return lines[-1] if lines else type(exc).__name__


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _too_large(limit: int) -> RequestTooLargeException:
    return RequestTooLargeException(
        f"The request body is larger than the limit of {limit} bytes "
        "(rest.max_body_size)"
    )


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "..."
