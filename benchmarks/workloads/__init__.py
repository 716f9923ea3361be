"""The workload catalogue: what is measured, on which sides, with which sizes.

Standard library only: the runner reads it under the project's interpreter
and workers read it under either side's interpreter. A workload's functions
live in ``module`` and are named ``<entry>_<side>`` (``create_peer``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SIDES", "WORKLOADS", "Workload", "select"]

# ours: this project (.venv); peer: the original release; ceiling: raw drivers.
SIDES = ("ours", "peer", "ceiling")


@dataclass(frozen=True)
class Workload:
    """One row of the report."""

    name: str
    title: str
    module: str
    entry: str
    sides: tuple[str, ...] = SIDES
    latency: bool = False
    # The headline number: "ops_per_s" (higher is better) or "p50_ms" (lower).
    primary: str = "ops_per_s"
    postgres: bool = False
    kafka: bool = False
    repetitions: int = 3
    params: dict[str, Any] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)
    ceiling_note: str = ""

    def parameters(self, quick: bool) -> dict[str, Any]:
        return {**self.params, **(self.quick if quick else {})}


def _w(**kwargs: Any) -> Workload:
    return Workload(**kwargs)


WORKLOADS: tuple[Workload, ...] = (
    _w(
        name="model.avro",
        title="model build+validate+Avro encode+decode",
        module="benchmarks.workloads.model",
        entry="avro",
        params={"count": 3000, "warmup": 200},
        quick={"count": 300, "warmup": 20},
        ceiling_note="fastavro schemaless write+read of the same record",
    ),
    _w(
        name="model.validate",
        title="model from a JSON-like dict + dump to one",
        module="benchmarks.workloads.model",
        entry="validate",
        params={"count": 5000, "warmup": 200},
        quick={"count": 500, "warmup": 20},
        ceiling_note=(
            "pydantic v2 model_validate+model_dump(mode='json'): a reference "
            "point, not a bound"
        ),
    ),
    _w(
        name="aggregate.create",
        title="Aggregate.create (one client)",
        module="benchmarks.workloads.aggregates",
        entry="create",
        postgres=True,
        params={"count": 400, "warmup": 20, "concurrency": 1},
        quick={"count": 60, "warmup": 5},
        ceiling_note="psycopg INSERT, committed (autocommit)",
    ),
    _w(
        name="aggregate.create.c8",
        title="Aggregate.create, 8 concurrent clients",
        module="benchmarks.workloads.aggregates",
        entry="create",
        postgres=True,
        params={"count": 800, "warmup": 20, "concurrency": 8},
        quick={"count": 80, "warmup": 5},
        ceiling_note="psycopg INSERT, committed (autocommit), 8 connections",
    ),
    _w(
        name="aggregate.create.c64",
        title="Aggregate.create, 64 concurrent clients",
        module="benchmarks.workloads.aggregates",
        entry="create",
        postgres=True,
        params={"count": 1280, "warmup": 20, "concurrency": 64},
        quick={"count": 128, "warmup": 5},
        ceiling_note="psycopg INSERT, committed (autocommit), 64 connections",
    ),
    _w(
        name="aggregate.update",
        title="Aggregate field change + save",
        module="benchmarks.workloads.aggregates",
        entry="update",
        postgres=True,
        params={"count": 300, "warmup": 20, "aggregates": 20},
        quick={"count": 40, "warmup": 5, "aggregates": 5},
        ceiling_note="psycopg INSERT, committed (autocommit)",
    ),
    _w(
        name="aggregate.get",
        title="Aggregate.get (snapshot hit)",
        module="benchmarks.workloads.aggregates",
        entry="get",
        postgres=True,
        params={"count": 1000, "warmup": 50, "aggregates": 50},
        quick={"count": 100, "warmup": 10, "aggregates": 10},
        ceiling_note="psycopg SELECT by primary key",
    ),
    _w(
        name="repository.append",
        title="event append to the repository",
        module="benchmarks.workloads.repository",
        entry="append",
        postgres=True,
        params={"count": 600, "warmup": 20},
        quick={"count": 60, "warmup": 5},
        ceiling_note="psycopg INSERT, committed (autocommit)",
    ),
    _w(
        name="outbox.kafka",
        title="outbox -> Kafka throughput",
        module="benchmarks.workloads.outbox",
        entry="drain",
        postgres=True,
        kafka=True,
        params={"count": 2000, "timeout": 90},
        quick={"count": 200, "timeout": 60},
        ceiling_note="aiokafka producer send loop, counted by a consumer",
    ),
    _w(
        name="events.latency",
        title="event end to end: command sent -> event handler ran",
        module="benchmarks.workloads.events",
        entry="latency",
        latency=True,
        primary="p50_ms",
        postgres=True,
        kafka=True,
        repetitions=2,
        # A light, steady load: this measures latency, not saturation.
        params={"count": 100, "rate": 10.0, "timeout": 90},
        quick={"count": 20, "rate": 10.0, "timeout": 90},
        ceiling_note="aiokafka send -> consumer receive",
    ),
    _w(
        name="rest.query",
        title="REST GET on a query endpoint (8 clients)",
        module="benchmarks.workloads.rest",
        entry="query",
        latency=True,
        postgres=True,
        kafka=True,
        repetitions=2,
        params={"count": 4000, "warmup": 200, "concurrency": 8},
        quick={"count": 300, "warmup": 20},
        ceiling_note="bare aiohttp handler returning orjson bytes, same client",
    ),
    _w(
        name="saga.roundtrip",
        title="saga with one remote step, over REST (one client)",
        module="benchmarks.workloads.saga",
        entry="roundtrip",
        sides=("ours", "peer"),
        latency=True,
        postgres=True,
        kafka=True,
        repetitions=2,
        params={"count": 100, "warmup": 5},
        quick={"count": 10, "warmup": 2},
    ),
)


def select(patterns: list[str] | None) -> list[Workload]:
    """The workloads named by ``patterns`` (exact names or dotted prefixes)."""
    if not patterns:
        return list(WORKLOADS)
    chosen = [
        workload
        for workload in WORKLOADS
        if any(
            workload.name == pattern or workload.name.startswith(pattern + ".")
            for pattern in patterns
        )
    ]
    unknown = [
        pattern
        for pattern in patterns
        if not any(
            workload.name == pattern or workload.name.startswith(pattern + ".")
            for workload in WORKLOADS
        )
    ]
    if unknown:
        names = ", ".join(workload.name for workload in WORKLOADS)
        raise ValueError(
            f"unknown workload {', '.join(unknown)}; choose among: {names}"
        )
    return chosen
