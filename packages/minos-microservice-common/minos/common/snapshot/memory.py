"""A snapshot store in memory, rebuilt from the event store it is given."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import orjson

from .abc import MinosSnapshot, SnapshotRow
from .conditions import Condition
from .ordering import Ordering

__all__ = ["InMemorySnapshot"]


class InMemorySnapshot(MinosSnapshot):
    """Keeps the document of every aggregate in a dict; for tests and demos."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rows: dict[UUID, SnapshotRow] = {}
        self._offset = 0

    async def _load(self, uuid: UUID) -> SnapshotRow | None:
        row = self._rows.get(uuid)
        if row is None or row.document is None:
            return row
        # Hand out a copy, as a database would.
        return SnapshotRow(
            row.uuid,
            row.name,
            row.version,
            orjson.loads(orjson.dumps(row.document)),
            row.created_at,
            row.updated_at,
        )

    async def _load_versions(self, uuids: Iterable[UUID]) -> dict[UUID, int]:
        return {uuid: self._rows[uuid].version for uuid in uuids if uuid in self._rows}

    async def _is_empty(self) -> bool:
        return not self._rows

    async def _reset(self) -> None:
        self._rows.clear()
        self._offset = 0

    async def _remove(self, uuid: UUID) -> None:
        self._rows.pop(uuid, None)

    async def _save(self, row: SnapshotRow) -> None:
        current = self._rows.get(row.uuid)
        if current is None or current.version < row.version:
            document = row.document
            if document is not None:
                document = orjson.loads(orjson.dumps(document))
            self._rows[row.uuid] = SnapshotRow(
                row.uuid,
                row.name,
                row.version,
                document,
                row.created_at,
                row.updated_at,
            )

    async def _query(
        self,
        name: str,
        condition: Condition,
        ordering: Ordering | None,
        limit: int | None,
    ) -> list[tuple[UUID, dict[str, Any] | None]]:
        rows = [
            row
            for row in self._rows.values()
            if row.name == name
            and row.document is not None
            and condition.evaluate(row.document)
        ]
        rows.sort(key=lambda row: (row.created_at, str(row.uuid)))
        if ordering is not None:
            rows.sort(
                key=lambda row: ordering.key(row.document), reverse=ordering.reverse
            )
        if limit is not None:
            rows = rows[:limit]
        return [(row.uuid, orjson.loads(orjson.dumps(row.document))) for row in rows]

    async def _get_offset(self) -> int:
        return self._offset

    async def _set_offset(self, value: int) -> None:
        self._offset = max(self._offset, value)
