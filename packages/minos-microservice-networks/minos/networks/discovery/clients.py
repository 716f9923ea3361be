"""Clients of discovery servers: where a service says which endpoints it serves."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from ..exceptions import MinosDiscoveryConnectorException

__all__ = ["DiscoveryClient", "MinosDiscoveryClient"]

Endpoint = Mapping[str, str]


class DiscoveryClient(ABC):
    """Talks to one discovery server at ``host:port``."""

    def __init__(self, host: str, port: int, *, timeout: float = 5.0) -> None:
        if not isinstance(host, str) or not host.strip() or host != host.strip():
            raise MinosDiscoveryConnectorException(
                f"Invalid discovery.host {host!r}: give the discovery server's "
                "host name or address"
            )
        if not _is_int(port) or not 1 <= port <= 65535:
            raise MinosDiscoveryConnectorException(
                f"Invalid discovery.port {port!r}: use an integer from 1 to 65535"
            )
        if (
            not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise MinosDiscoveryConnectorException(
                f"Invalid discovery timeout {timeout!r}: use a positive number "
                "of seconds"
            )
        self.host = host
        self.port = int(port)
        self.timeout = float(timeout)

    @abstractmethod
    async def subscribe(
        self, name: str, host: str, port: int, endpoints: Sequence[Endpoint]
    ) -> None:
        """Register service ``name`` reachable at ``host:port`` with its endpoints."""

    @abstractmethod
    async def unsubscribe(self, name: str) -> None:
        """Remove the registration of service ``name``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.host!r}, {self.port})"


class MinosDiscoveryClient(DiscoveryClient):
    """The discovery protocol over HTTP/JSON.

    - register: ``POST http://<host>:<port>/microservices`` with the body
      ``{"name": "exam", "host": "10.0.0.5", "port": 8082,
      "endpoints": [{"url": "/exams", "method": "POST"}, ...]}``;
      any 2xx answer means registered (a repeated registration replaces the
      previous one).
    - unregister: ``DELETE http://<host>:<port>/microservices/<name>`` (name
      URL-quoted); a 2xx or 404 answer means the service is not registered
      any more.

    Any other answer, a timeout or a connection failure raises
    ``MinosDiscoveryConnectorException`` naming the server and the cause.
    """

    @property
    def url(self) -> str:
        return str(self._base)

    @property
    def _base(self) -> URL:
        # ``URL.build`` brackets IPv6 literals ("http://[::1]:5567/...").
        try:
            return URL.build(
                scheme="http", host=self.host, port=self.port, path="/microservices"
            )
        except (ValueError, TypeError) as exc:
            raise MinosDiscoveryConnectorException(
                f"Invalid discovery.host {self.host!r}: {exc}"
            ) from None

    @property
    def _where(self) -> str:
        return str(self._base.origin()).removeprefix("http://")

    async def subscribe(
        self, name: str, host: str, port: int, endpoints: Sequence[Endpoint]
    ) -> None:
        body = {
            "name": name,
            "host": host,
            "port": int(port),
            "endpoints": [{"url": e["url"], "method": e["method"]} for e in endpoints],
        }
        await self._request("POST", self._base, body, ok={200, 201, 202, 204})

    async def unsubscribe(self, name: str) -> None:
        base = self._base
        url = base.with_path(f"{base.path}/{quote(name, safe='')}", encoded=True)
        await self._request("DELETE", url, None, ok={200, 202, 204, 404})

    async def _request(self, method: str, url: URL, body: Any, *, ok: set[int]) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.request(method, url, json=body) as response:
                    if response.status not in ok:
                        detail = (await response.text())[:200]
                        raise MinosDiscoveryConnectorException(
                            f"The discovery server at {self._where} "
                            f"answered {method} {url} with {response.status}: "
                            f"{detail or response.reason}"
                        )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise MinosDiscoveryConnectorException(
                f"Cannot reach the discovery server at {self._where} "
                f"({method} {url}): {reason}; check discovery.host and discovery.port"
            ) from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
