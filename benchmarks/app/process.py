"""An HTTP server in a child process: started, awaited until it answers, stopped.

Used for the benchmark service (either side) and for the bare aiohttp
ceiling, so that the load client and the server never share a core's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["ServerFailed", "served"]

ROOT = Path(__file__).resolve().parents[2]


class ServerFailed(RuntimeError):
    """The child server exited or never answered; the message carries its log."""


def _log_tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except OSError:
        return "(no log)"


def _open_log(path: Path) -> BinaryIO:
    return path.open("wb")


async def _answers(host: str, port: int, path: str) -> bool:
    from ..httpclient import HttpClient, HttpError

    try:
        async with HttpClient.open(host, port) as client:
            status, _ = await asyncio.wait_for(client.request("GET", path), 2)
    except (TimeoutError, OSError, HttpError, ValueError):
        return False
    return status == 200


async def _wait_until_ready(
    process: asyncio.subprocess.Process, url: str, log: Path, within: float
) -> None:
    address, _, path = url.removeprefix("http://").partition("/")
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + within
    while True:
        if process.returncode is not None:
            raise ServerFailed(
                f"the server exited with {process.returncode}:\n{_log_tail(log)}"
            )
        if await _answers(host, int(port), "/" + path):
            return
        if time.monotonic() > deadline:
            raise ServerFailed(
                f"no answer from {url} within {within:.0f} s:\n{_log_tail(log)}"
            )
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def served(
    module: str, arguments: list[str], ready_url: str, log: Path, within: float = 60
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run ``python -m module *arguments`` under this interpreter until exit."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    with _open_log(log) as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            module,
            *arguments,
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        await _wait_until_ready(process, ready_url, log, within)
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
