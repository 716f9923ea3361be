"""Writes the benchmark service's ``config.yml`` in the seed's shape.

Standard library only: the runner and every worker may import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["STORE_INJECTIONS", "SERVICE_INJECTIONS", "service_config", "write_config"]

# What an aggregate needs to be stored: the event store, snapshots and outbox.
STORE_INJECTIONS = {
    "postgresql_pool": "minos.common.PostgreSqlPool",
    "event_broker": "minos.networks.EventBroker",
    "repository": "minos.common.PostgreSqlRepository",
    "snapshot": "minos.common.PostgreSqlSnapshot",
}

# The seed's full list (discovery left out, as in the seed).
SERVICE_INJECTIONS = {
    "postgresql_pool": "minos.common.PostgreSqlPool",
    "command_broker": "minos.networks.CommandBroker",
    "command_reply_broker": "minos.networks.CommandReplyBroker",
    "event_broker": "minos.networks.EventBroker",
    "consumer": "minos.networks.Consumer",
    "dynamic_handler_pool": "minos.networks.DynamicHandlerPool",
    "repository": "minos.common.PostgreSqlRepository",
    "saga_manager": "minos.saga.SagaManager",
    "snapshot": "minos.common.PostgreSqlSnapshot",
}

SERVICE_SERVICES = [
    "minos.networks.ConsumerService",
    "minos.networks.CommandHandlerService",
    "minos.networks.CommandReplyHandlerService",
    "minos.networks.EventHandlerService",
    "minos.networks.RestService",
    "minos.networks.SnapshotService",
    "minos.networks.ProducerService",
]


def service_config(
    postgres: dict[str, Any],
    kafka: str,
    workdir: str,
    rest_port: int = 8082,
    injections: dict[str, str] | None = None,
    services: list[str] | None = None,
    name: str = "bench",
    records: int = 1000,
) -> dict[str, Any]:
    """The configuration mapping: one database for every store, as the seed does."""
    kafka_host, _, kafka_port = kafka.rpartition(":")
    database = {
        "database": postgres["database"],
        "user": postgres["user"],
        "password": postgres["password"],
        "host": postgres["host"],
        "port": int(postgres["port"]),
    }
    return {
        "service": {
            "name": name,
            "aggregate": "benchmarks.app.aggregates.Item",
            "injections": dict(
                SERVICE_INJECTIONS if injections is None else injections
            ),
            "services": list(SERVICE_SERVICES if services is None else services),
        },
        "rest": {"host": "127.0.0.1", "port": rest_port},
        "broker": {
            "host": kafka_host,
            "port": int(kafka_port),
            "queue": {**database, "records": records, "retry": 2},
        },
        "repository": dict(database),
        "snapshot": dict(database),
        "queries": {"service": "benchmarks.app.queries.BenchQueryService"},
        "commands": {"service": "benchmarks.app.commands.BenchCommandService"},
        "saga": {"storage": {"path": str(Path(workdir) / "bench.lmdb")}},
    }


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                _emit(item, indent + 1, lines)
            elif isinstance(item, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(item, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    else:
        for item in value:
            lines.append(f"{pad}- {_scalar(item)}")


def write_config(config: dict[str, Any], folder: str | Path) -> Path:
    """Write ``config`` as ``config.yml`` in ``folder`` and return its path."""
    lines: list[str] = []
    _emit(config, 0, lines)
    path = Path(folder) / "config.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
