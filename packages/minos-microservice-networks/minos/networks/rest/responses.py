"""Turning handler results and errors into HTTP responses with JSON bodies.

Every error answer has the same shape, ``{"error": "<message>"}``, whatever
produced it: a ``ResponseException``, an unreadable request, an unknown route,
or an unexpected failure (then the message is generic and the details only go
to the log).

JSON numbers are written exactly: integers beyond 64 bits (which orjson
refuses) are written as JSON numbers by the standard library encoder, and
non-finite floats (NaN, infinities), which JSON cannot represent, are refused
(the client gets a 500 and the log names the handler) rather than silently
sent as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from minos.common import MinosSerializationException, json_dumps, to_json_data

from ..requests import Response, is_valid_response_status
from .exceptions import InvalidResultException

__all__ = ["render_result", "render_json", "error_response", "JSON_CONTENT_TYPE"]

JSON_CONTENT_TYPE = "application/json"


async def render_result(result: Any, handler: str = "handler") -> web.StreamResponse:
    """The HTTP answer for what a handler (named ``handler`` in errors) returned.

    A ``Response`` (or any other value, taken as the response data) becomes its
    status with the data as JSON (``minos.common.json_dumps``: models as
    objects, UUIDs and datetimes as strings, sets as lists, enums as values).
    No data (``None`` or ``Response(None)``) becomes an empty body:
    ``204 No Content``, or the response's own status when it is not the
    default 200. An aiohttp response is sent as it is, for the rare handler
    that streams or serves files. A status outside 200..599, or data with a
    204/304, raises ``InvalidResultException`` (a 500).
    """
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, Response):
        data = await result.content()
        status = result.status
    else:
        data, status = result, 200

    if not is_valid_response_status(status):
        raise InvalidResultException(
            f"{handler} returned a Response with status {status!r}; "
            "use an HTTP status from 200 to 599"
        )
    if data is None:
        return web.Response(status=204 if status == 200 else status)
    if status in (204, 304):
        raise InvalidResultException(
            f"{handler} returned data with status {status}, which has no body"
        )
    return web.Response(
        body=render_json(data, handler), status=status, content_type=JSON_CONTENT_TYPE
    )


def render_json(data: Any, handler: str = "handler") -> bytes:
    """``data`` as JSON bytes: big integers exact, non-finite floats refused."""
    try:
        body = json_dumps(data)
    except MinosSerializationException as exc:
        # orjson refuses integers beyond 64 bits: let the standard library
        # write them (slower, only for such values).
        try:
            plain = to_json_data(data)
        except MinosSerializationException:
            raise exc from None
        try:
            return json.dumps(
                plain, allow_nan=False, ensure_ascii=False, separators=(",", ":")
            ).encode()
        except ValueError:
            raise _non_finite(handler) from None
        except TypeError:
            raise exc from None
    # orjson writes NaN and infinities as null: look for them only when the
    # output has a null at all, so the common case costs one substring search.
    if b"null" in body and _has_non_finite(data):
        raise _non_finite(handler)
    return body


def _non_finite(handler: str) -> InvalidResultException:
    return InvalidResultException(
        f"{handler} returned a non-finite float (NaN or infinity), which JSON "
        "cannot represent; return None or a string instead"
    )


def _has_non_finite(data: Any) -> bool:
    try:
        plain = to_json_data(data)
    except MinosSerializationException:
        return False
    stack = [plain]
    while stack:
        value = stack.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    """An error answer: ``status`` with ``{"error": message}``."""
    return web.Response(
        body=json_dumps({"error": message}),
        status=status,
        content_type=JSON_CONTENT_TYPE,
        headers=headers,
    )
