"""Running a microservice directory in a child process, as a user would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .harness import wait_for_port

__all__ = ["ServiceProcess", "service_env", "write_service"]


_MESSAGING_INJECTIONS = {
    "command_broker": "minos.networks.CommandBroker",
    "command_reply_broker": "minos.networks.CommandReplyBroker",
    "event_broker": "minos.networks.EventBroker",
    "consumer": "minos.networks.Consumer",
    "dynamic_handler_pool": "minos.networks.DynamicHandlerPool",
}


def write_service(
    directory: Path,
    *,
    name: str,
    source: str,
    services: list[str],
    commands: str,
    queries: str | None,
    database: Mapping[str, Any],
    kafka: str,
    rest_port: int,
    saga: Mapping[str, Any] | None = None,
) -> Path:
    """A service directory (``src/__init__.py`` + a seed-style ``config.yml``).

    ``commands``/``queries`` name classes of ``source``; the broker queues
    live in ``database`` and messages travel through the broker ``kafka``.
    With ``saga`` (extra keys of the ``saga`` section), the service gets a
    saga manager storing its executions in the directory.
    """
    (directory / "src").mkdir(parents=True)
    (directory / "src" / "__init__.py").write_text(textwrap.dedent(source))
    host, port = kafka.rsplit(":", 1)
    injections = dict(_MESSAGING_INJECTIONS)
    if saga is not None:
        injections["saga_manager"] = "minos.saga.SagaManager"
    config: dict[str, Any] = {
        "service": {"name": name, "injections": injections, "services": services},
        "rest": {"host": "127.0.0.1", "port": rest_port},
        "broker": {
            "host": host,
            "port": int(port),
            "queue": {
                "database": database["database"],
                "user": "minos",
                "password": "min0s",
                "host": database["host"],
                "port": database["port"],
                "records": 100,
                "retry": 2,
            },
        },
        "commands": {"service": f"src.{commands}"},
    }
    if queries:
        config["queries"] = {"service": f"src.{queries}"}
    if saga is not None:
        storage = {"storage": {"path": str(directory / "sagas.lmdb")}}
        config["saga"] = {**storage, **saga}
    (directory / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return directory


def service_env(
    database: Mapping[str, object], bootstrap: str | None, rest_port: int
) -> dict[str, str]:
    """``MINOS_*`` overrides pointing a seed-style config at the test servers.

    One database for the event store, the snapshots and the broker queues, as
    in the seed's config; ``bootstrap`` is the Kafka ``host:port``.
    """
    env = {"MINOS_REST_HOST": "127.0.0.1", "MINOS_REST_PORT": str(rest_port)}
    if bootstrap is not None:
        host, port = bootstrap.rsplit(":", 1)
        env["MINOS_BROKER_HOST"], env["MINOS_BROKER_PORT"] = host, port
    for section in ("REPOSITORY", "SNAPSHOT", "BROKER_QUEUE"):
        for key, value in database.items():
            env[f"MINOS_{section}_{key.upper()}"] = str(value)
    return env


class ServiceProcess:
    """``minos run DIRECTORY`` in a child process, with ``MINOS_*`` overrides."""

    def __init__(
        self,
        directory: Path | str,
        env: Mapping[str, str],
        *,
        config: str | None = None,
        log: Path | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.config = config
        self.log_path = log or self.directory / "service.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        script = Path(sys.executable).with_name("minos")
        command = [str(script), "run", str(self.directory)]
        if self.config:
            command += ["--config", self.config]
        return command

    def start(self, wait_port: int | None = None, timeout: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait_port is not None:
            deadline = time.monotonic() + timeout
            while True:
                if self.process.poll() is not None:
                    code, self.process = self.process.returncode, None
                    raise RuntimeError(
                        f"{self.directory.name} exited with {code}:\n{self.output()}"
                    )
                try:
                    wait_for_port("127.0.0.1", wait_port, timeout=0.5)
                    return
                except TimeoutError:
                    if time.monotonic() > deadline:
                        self.kill()
                        raise TimeoutError(
                            f"{self.directory.name} did not listen on {wait_port}:"
                            f"\n{self.output()}"
                        ) from None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait for a clean exit; return the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def kill(self) -> None:
        """SIGKILL: the crash a durability test wants."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None
