"""The request a REST handler receives: JSON body, path and query arguments, user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from aiohttp import hdrs, web

from minos.common import MinosSerializationException, json_loads

from ..requests import USER_HEADER, Request
from .exceptions import BadRequestException, RequestTooLargeException

__all__ = ["RestRequest", "DEFAULT_MAX_BODY_SIZE"]

# The largest request body accepted unless ``rest.max_body_size`` says otherwise.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024

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
        self._user = _parse_user(raw.headers.get(USER_HEADER))
        self._body = body
        self._content: Any = None

    @classmethod
    async def read(
        cls, raw: web.Request, *, max_body_size: int = DEFAULT_MAX_BODY_SIZE
    ) -> RestRequest:
        """Read, size-check and parse the body of ``raw``."""
        request = cls(raw)
        request._body = await _read_body(raw, max_body_size)
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


def _parse_user(value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value.strip())
    except ValueError:
        raise BadRequestException(
            f"The {USER_HEADER} header must be a UUID, got {_shorten(value)!r}"
        ) from None


async def _read_body(raw: web.Request, max_body_size: int) -> Any:
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

    try:
        data = await raw.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(max_body_size) from None
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

    try:
        return json_loads(text)
    except MinosSerializationException as exc:
        raise BadRequestException(
            f"The request body is not valid JSON ({exc.message})"
        ) from None


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
