"""The servers one benchmark run measures against, all on loopback.

PostgreSQL is found the way the test harness finds it (``MINOS_TEST_POSTGRES``,
then a trust server on 127.0.0.1:5432, then a throwaway embedded one) and every
measurement gets a database of its own. Every measurement that uses Kafka gets
a Tansu broker of its own too: topics and consumer offsets left by an earlier
measurement would otherwise be read again by the next one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

from testing.harness import (
    KafkaBroker,
    PostgresServer,
    _can_connect,
    _embedded_postgres,
    _ensure_test_role,
    _server_from_url,
    free_port,
)

__all__ = ["Servers", "free_port"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _postgres() -> Iterator[PostgresServer]:
    """The harness's order of preference, outside of pytest."""
    with contextlib.ExitStack() as stack:
        if url := os.environ.get("MINOS_TEST_POSTGRES"):
            server = _server_from_url(url)
        elif _can_connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="postgres"
        ):
            server = PostgresServer("127.0.0.1", 5432, "postgres", None, "postgres")
        else:
            server = stack.enter_context(_embedded_postgres())
        _ensure_test_role(server)
        yield server


class Servers:
    """Hands out fresh databases and brokers, and removes them afterwards."""

    def __init__(self, postgres: PostgresServer) -> None:
        self.postgres = postgres
        self._suffix = uuid.uuid4().hex[:8]
        self._created = 0

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[Servers]:
        with _postgres() as postgres:
            yield cls(postgres)

    def postgres_version(self) -> str:
        with self.postgres.admin_connect() as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"

    @contextlib.contextmanager
    def database(self) -> Iterator[dict[str, Any]]:
        """A database created for one measurement and dropped after it."""
        self._created += 1
        name = f"minos_bench_{self._suffix}_{self._created}"
        settings = self.postgres.create_database(name)
        try:
            yield settings
        finally:
            try:
                self.postgres.drop_database(name)
            except Exception as exc:  # a leftover database must not stop the run
                logger.warning("could not drop the database %s: %s", name, exc)

    @contextlib.contextmanager
    def broker(self) -> Iterator[str]:
        """A fresh in-memory Tansu broker for one measurement; its bootstrap."""
        broker = KafkaBroker()
        broker.start()
        try:
            yield broker.bootstrap
        finally:
            broker.stop()
