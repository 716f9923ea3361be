"""Event store and snapshot store pairs for the backend-parametrized tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minos.common import (
    InMemoryRepository,
    InMemorySnapshot,
    PostgreSqlRepository,
    PostgreSqlSnapshot,
    SqliteRepository,
    SqliteSnapshot,
)

__all__ = ["STORE_KINDS", "event_stores"]

# ``split``: the event store on PostgreSQL, the snapshots in another database.
STORE_KINDS = ["memory", "sqlite", "postgresql", "split"]


def event_stores(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[Any, Any]:
    """A repository and the snapshot store reading it, not yet set up."""
    if kind == "memory":
        repository: Any = InMemoryRepository()
        return repository, InMemorySnapshot(repository=repository)
    if kind == "sqlite":
        path = tmp_path / "service.sqlite3"
        repository = SqliteRepository(path=path)
        return repository, SqliteSnapshot(path=path, repository=repository)
    settings = request.getfixturevalue("fresh_postgres_settings")
    repository = PostgreSqlRepository(**settings)
    if kind == "postgresql":
        return repository, PostgreSqlSnapshot(**settings, repository=repository)
    if kind == "split":
        snapshots = tmp_path / "snap.sqlite3"
        return repository, SqliteSnapshot(path=snapshots, repository=repository)
    raise ValueError(f"unknown store kind {kind!r}; use one of {STORE_KINDS}")
