"""Versioned table creation shared by the event store and the snapshot store."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..database import DatabasePool
from ..exceptions import MinosDatabaseException

logger = logging.getLogger(__name__)

__all__ = ["ensure_schema"]

_VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS minos_schema_versions ("
    "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)

# Serializes schema creation across processes sharing a PostgreSQL database.
_SCHEMA_LOCK = 0x6D696E6F73


async def ensure_schema(
    pool: DatabasePool, component: str, version: int, statements: Sequence[str]
) -> None:
    """Create the tables of ``component`` once and record their ``version``."""
    async with pool.transaction() as conn:
        if pool.dialect == "postgresql":
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        await conn.execute(_VERSIONS_TABLE)
        row = await conn.fetchone(
            "SELECT version FROM minos_schema_versions WHERE component = %s",
            (component,),
        )
        if row is not None and row[0] == version:
            return
        if row is not None and row[0] > version:
            raise MinosDatabaseException(
                f"The {component} tables of the {pool.description} have schema "
                f"version {row[0]}, newer than this code's {version}: upgrade minos"
            )
        # Limitation: there is one schema version so far, so an older one is
        # simply completed with ``IF NOT EXISTS`` statements; a later version
        # adds its migration steps here.
        for statement in statements:
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO minos_schema_versions (component, version) VALUES (%s, %s) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (component, version),
        )
        logger.info(
            "Created the %s tables (schema version %d) in the %s",
            component,
            version,
            pool.description,
        )
