"""``GET /system/health``: can this service reach its databases and its broker?

The answer lists one check per dependency and is ``200`` when every check is
up, ``503`` otherwise::

    {"status": "down",
     "checks": {
       "repository": {"status": "up", "target": "PostgreSQL database 'exam_db' ..."},
       "broker.queue": {"status": "up", "target": "PostgreSQL database 'exam_db' ..."},
       "broker": {"status": "down", "target": "localhost:9092",
                  "error": "Connect call failed ..."}}}

Databases are checked through the shared pool of their config section (the one
the service itself uses) with ``SELECT 1``; the broker with a TCP connection
to ``broker.host:broker.port``. Each check gets ``timeout`` seconds. A SQLite
database whose file does not exist is reported down without being created
(opening it would create an empty file, and its folders, as a side effect).

The report names what it checks (host and port, database name, SQLite path)
so an operator can tell which dependency is down; it never holds a password.
Those names describe the deployment: serve ``/system/health`` only where they
may be read (an internal network, or behind the gateway's authentication).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from minos.common import MinosException, database_pool, json_dumps

from .responses import JSON_CONTENT_TYPE

if TYPE_CHECKING:
    from minos.common import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["SystemHealth", "HEALTH_PATH"]

HEALTH_PATH = "/system/health"

# The config sections naming a database the service depends on.
_DATABASE_SECTIONS = ("repository", "snapshot", "broker.queue")


class SystemHealth:
    """Checks the reachability of a service's databases and broker."""

    def __init__(
        self,
        databases: Mapping[str, Mapping[str, Any]] | None = None,
        broker: tuple[str, int] | None = None,
        *,
        timeout: float = 2.0,
    ) -> None:
        self.databases = dict(databases or {})
        self.broker = broker
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: MinosConfig, **kwargs: Any) -> SystemHealth:
        """Check the databases of ``repository``, ``snapshot``, ``broker.queue``
        and the broker at ``broker.host:broker.port``, those that are configured."""
        databases: dict[str, Mapping[str, Any]] = {}
        for key in _DATABASE_SECTIONS:
            section = _section(config, key)
            if section:
                databases[key] = section._asdict()

        broker = None
        section = _section(config, "broker")
        if section and section.host and section.port:
            broker = (section.host, int(section.port))
        return cls(databases, broker, **kwargs)

    async def check(self) -> dict[str, Any]:
        """Run every check concurrently and return the report."""
        probes: dict[str, tuple[str, Callable[[], Awaitable[None]]]] = {}
        for name, settings in self.databases.items():
            pool = database_pool(settings)
            probes[name] = (pool.description, _database_probe(pool, settings))
        if self.broker is not None:
            host, port = self.broker
            probes["broker"] = (f"{host}:{port}", _tcp_probe(host, port))

        results = await asyncio.gather(
            *(self._run(probe) for _, probe in probes.values())
        )
        checks: dict[str, dict[str, str]] = {}
        for (name, (target, _)), error in zip(probes.items(), results, strict=True):
            entry = {"status": "up" if error is None else "down", "target": target}
            if error is not None:
                entry["error"] = error
            checks[name] = entry
        healthy = all(entry["status"] == "up" for entry in checks.values())
        return {"status": "up" if healthy else "down", "checks": checks}

    async def _run(self, probe: Callable[[], Awaitable[None]]) -> str | None:
        try:
            await asyncio.wait_for(probe(), self.timeout)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except MinosException as exc:
            return exc.message
        except Exception as exc:
            lines = str(exc).strip().splitlines()
            return lines[0] if lines else type(exc).__name__
        return None

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler of ``GET /system/health``."""
        report = await self.check()
        if report["status"] != "up":
            down = [name for name, c in report["checks"].items() if c["status"] != "up"]
            logger.warning("Health check failed for %s", ", ".join(down))
        return web.Response(
            body=json_dumps(report),
            status=200 if report["status"] == "up" else 503,
            content_type=JSON_CONTENT_TYPE,
        )


def _section(config: MinosConfig, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        if not value or part not in value:
            return None
        value = getattr(value, part)
    return value


def _database_probe(
    pool: Any, settings: Mapping[str, Any]
) -> Callable[[], Awaitable[None]]:
    path = settings.get("path")

    async def probe() -> None:
        if path is not None and not _in_memory(str(path)):
            if not await asyncio.to_thread(os.path.exists, path):
                raise MinosException(f"the SQLite file {str(path)!r} does not exist")
        await pool.setup()
        async with pool.connection() as conn:
            await conn.fetchone("SELECT 1")

    return probe


def _in_memory(path: str) -> bool:
    return path == ":memory:" or path.startswith("file::memory:")


def _tcp_probe(host: str, port: int) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        _, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()

    return probe
