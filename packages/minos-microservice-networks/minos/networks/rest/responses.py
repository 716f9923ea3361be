"""Turning handler results and errors into HTTP responses with JSON bodies.

Every error answer has the same shape, ``{"error": "<message>"}``, whatever
produced it: a ``ResponseException``, an unreadable request, an unknown route,
or an unexpected failure (then the message is generic and the details only go
to the log).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from minos.common import json_dumps

from ..requests import Response

__all__ = ["render_result", "error_response", "JSON_CONTENT_TYPE"]

JSON_CONTENT_TYPE = "application/json"


async def render_result(result: Any) -> web.StreamResponse:
    """The HTTP answer for what a handler returned.

    A ``Response`` (or any other value, taken as the response data) becomes its
    status with the data as JSON (``minos.common.json_dumps``: models as
    objects, UUIDs and datetimes as strings, sets as lists, enums as values).
    No data (``None`` or ``Response(None)``) becomes an empty body:
    ``204 No Content``, or the response's own status when it is not the
    default 200. An aiohttp response is sent as it is, for the rare handler
    that streams or serves files.
    """
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, Response):
        data = await result.content()
        status = result.status
    else:
        data, status = result, 200

    if data is None:
        return web.Response(status=204 if status == 200 else status)
    return web.Response(
        body=json_dumps(data), status=status, content_type=JSON_CONTENT_TYPE
    )


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
