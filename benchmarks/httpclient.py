"""A minimal HTTP/1.1 keep-alive client on asyncio's ``Protocol``.

The load client of every REST measurement, on every side. A general client
(aiohttp's, for one) spends about as long on each request as a small aiohttp
handler does, so on two cores it, not the server, would set the pace. This
one only frames requests and reads ``Content-Length`` or chunked bodies.
Standard library only, so both sides' interpreters run the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["HttpClient", "HttpError"]


class HttpError(RuntimeError):
    """The server answered something this client cannot read, or hung up."""


def _chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """The body of a complete chunked message at ``start`` and where it ends."""
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
        position = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", position)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 2
        if len(buffer) < position + size + 2:
            return None
        body += buffer[position : position + size]
        position += size + 2


class _Connection(asyncio.Protocol):
    """One kept-alive connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._deliver()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError(f"the server hung up: {exc!r}"))

    def _deliver(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        try:
            parsed = self._parse()
        except (ValueError, IndexError) as exc:
            self.waiter.set_exception(HttpError(f"unreadable response: {exc}"))
            return
        if parsed is not None:
            self.waiter.set_result(parsed)

    def _parse(self) -> tuple[int, bytes] | None:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        lines = bytes(self.buffer[:head_end]).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = head_end + 4
        if "content-length" in headers:
            end = start + int(headers["content-length"])
            if len(self.buffer) < end:
                return None
            body = bytes(self.buffer[start:end])
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            found = _chunked(self.buffer, start)
            if found is None:
                return None
            body, end = found
        else:
            body, end = b"", start
        del self.buffer[:end]
        return status, body

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self.transport is None or self.transport.is_closing():
            raise HttpError("the connection is closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        self._deliver()
        return await self.waiter


class HttpClient:
    """``connections`` kept-alive connections to one loopback server."""

    def __init__(self, host: str, port: int, connections: int = 1) -> None:
        self.host = host
        self.port = port
        self.size = connections
        self._idle: asyncio.Queue[_Connection] = asyncio.Queue()
        self._all: list[_Connection] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, host: str, port: int, connections: int = 1
    ) -> AsyncIterator[HttpClient]:
        client = cls(host, port, connections)
        loop = asyncio.get_running_loop()
        try:
            for _ in range(connections):
                _, connection = await loop.create_connection(_Connection, host, port)
                client._all.append(connection)
                client._idle.put_nowait(connection)
            yield client
        finally:
            for connection in client._all:
                if connection.transport is not None:
                    connection.transport.close()

    def encode(self, method: str, path: str, body: Any = None) -> bytes:
        """The bytes of one request; build once, send many times."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            lines.append("Content-Type: application/json")
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(payload)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send encoded ``request`` on an idle connection; status and body."""
        connection = await self._idle.get()
        try:
            return await connection.exchange(request)
        finally:
            self._idle.put_nowait(connection)

    async def request(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, Any]:
        """One request with a JSON body (or none); status and decoded JSON."""
        status, raw = await self.send(self.encode(method, path, body))
        return status, (json.loads(raw) if raw else None)
