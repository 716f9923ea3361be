"""The REST ceiling: the same route and payload as the service, with bare aiohttp.

``python -m benchmarks.app.bare <port>`` serves until SIGTERM. The body is
encoded with orjson, the fastest JSON encoder at hand: ``web.json_response``
(stdlib ``json`` and text re-encoding) costs about a third of the throughput
of a handler this small, and a ceiling must not be lower than it needs be.
"""

from __future__ import annotations

import sys

import orjson
from aiohttp import web

from .payloads import ITEMS_PAGE


async def list_items(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(ITEMS_PAGE), content_type="application/json")


def main(argv: list[str]) -> int:
    app = web.Application()
    app.router.add_get("/items", list_items)
    web.run_app(app, host="127.0.0.1", port=int(argv[0]), print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
