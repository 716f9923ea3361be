"""The event store interface: append-only history of every aggregate."""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from ..setup import MinosSetup
from .entries import Action, RepositoryEntry
from .exceptions import MinosRepositoryConflictException, MinosRepositoryException

logger = logging.getLogger(__name__)

__all__ = ["MinosRepository"]

# The filters ``select`` accepts: keyword -> (column, SQL operator).
SELECT_FILTERS: dict[str, tuple[str, str]] = {
    "aggregate_uuid": ("aggregate_uuid", "="),
    "aggregate_name": ("aggregate_name", "="),
    "action": ("action", "="),
    "version": ("version", "="),
    "version_lt": ("version", "<"),
    "version_gt": ("version", ">"),
    "version_le": ("version", "<="),
    "version_ge": ("version", ">="),
    "id": ("id", "="),
    "id_lt": ("id", "<"),
    "id_gt": ("id", ">"),
    "id_le": ("id", "<="),
    "id_ge": ("id", ">="),
}


@runtime_checkable
class _EntrySource(Protocol):
    def to_repository_entry(self) -> RepositoryEntry: ...


class MinosRepository(MinosSetup, ABC):
    """Stores the diffs of aggregates, one version after the other.

    ``submit`` appends a change only if it follows the stored history of its
    aggregate (optimistic concurrency): version ``n`` of an aggregate can be
    stored once, after version ``n - 1``, never after a deletion. A change that
    does not follow raises ``MinosRepositoryConflictException`` and stores
    nothing. ``transaction()`` opens the transaction the aggregate's event
    rows, snapshot row and outbox rows share.
    """

    async def submit(
        self, entry: RepositoryEntry | _EntrySource, **kwargs: Any
    ) -> RepositoryEntry:
        """Store a change (an ``AggregateDiff`` or an entry); return it as stored."""
        if not isinstance(entry, RepositoryEntry):
            if not isinstance(entry, _EntrySource):
                raise MinosRepositoryException(
                    f"cannot store {entry!r}: submit an AggregateDiff or a "
                    f"RepositoryEntry"
                )
            entry = entry.to_repository_entry()
        if entry.created_at is None:
            entry = replace(entry, created_at=datetime.now(UTC))
        await self.setup()
        stored = await self._submit(entry, **kwargs)
        logger.debug(
            "Stored %s of %s %s version %s",
            stored.action.value,
            stored.aggregate_name,
            stored.aggregate_uuid,
            stored.version,
        )
        return stored

    async def create(self, entry: RepositoryEntry | _EntrySource) -> RepositoryEntry:
        """Store the creation of an aggregate."""
        return await self.submit(_with_action(entry, Action.CREATE))

    async def update(self, entry: RepositoryEntry | _EntrySource) -> RepositoryEntry:
        """Store an update of an aggregate."""
        return await self.submit(_with_action(entry, Action.UPDATE))

    async def delete(self, entry: RepositoryEntry | _EntrySource) -> RepositoryEntry:
        """Store the deletion of an aggregate."""
        return await self.submit(_with_action(entry, Action.DELETE))

    @abstractmethod
    async def _submit(self, entry: RepositoryEntry, **kwargs: Any) -> RepositoryEntry:
        """Append ``entry`` (``created_at`` set) or raise a conflict."""

    async def select(
        self,
        *,
        aggregate_uuid: UUID | None = None,
        aggregate_name: str | None = None,
        action: Action | str | None = None,
        version: int | None = None,
        version_lt: int | None = None,
        version_gt: int | None = None,
        version_le: int | None = None,
        version_ge: int | None = None,
        id: int | None = None,
        id_lt: int | None = None,
        id_gt: int | None = None,
        id_le: int | None = None,
        id_ge: int | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[RepositoryEntry]:
        """Yield the stored entries matching every given filter, by ``id``."""
        filters: dict[str, Any] = {
            "aggregate_uuid": aggregate_uuid,
            "aggregate_name": aggregate_name,
            "action": Action.value_of(action).value if action is not None else None,
            "version": version,
            "version_lt": version_lt,
            "version_gt": version_gt,
            "version_le": version_le,
            "version_ge": version_ge,
            "id": id,
            "id_lt": id_lt,
            "id_gt": id_gt,
            "id_le": id_le,
            "id_ge": id_ge,
        }
        filters = {key: value for key, value in filters.items() if value is not None}
        if aggregate_uuid is not None and not isinstance(aggregate_uuid, UUID):
            try:
                filters["aggregate_uuid"] = UUID(str(aggregate_uuid))
            except ValueError:
                raise MinosRepositoryException(
                    f"aggregate_uuid must be a UUID, not {aggregate_uuid!r}"
                ) from None
        for key in filters.keys() - {"aggregate_uuid", "aggregate_name", "action"}:
            value = filters[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise MinosRepositoryException(f"{key} must be an int, not {value!r}")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int)
        ):
            raise MinosRepositoryException(f"limit must be an int, not {limit!r}")
        await self.setup()
        async for entry in self._select(filters, limit):
            yield entry

    @abstractmethod
    def _select(
        self, filters: dict[str, Any], limit: int | None
    ) -> AsyncIterator[RepositoryEntry]:
        """Yield the entries matching ``filters`` (keys of ``SELECT_FILTERS``)."""

    async def last_version(self, aggregate_uuid: UUID) -> int | None:
        """The latest stored version of an aggregate, or ``None`` if it has none."""
        last = None
        async for entry in self.select(aggregate_uuid=aggregate_uuid):
            last = entry.version
        return last

    async def last_id(self) -> int:
        """The ``id`` of the newest entry of the store (0 when empty)."""
        last = 0
        async for entry in self.select():
            last = entry.id or last
        return last

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """Open a transaction (or join the open one) that ``submit`` writes in."""
        return contextlib.nullcontext()

    async def after_commit(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run ``callback`` when the outermost open ``transaction()`` commits, never
        if it rolls back (now when none is open); its errors are only logged."""
        try:
            await callback()
        except Exception:
            logger.exception("A callback after a commit of %s failed", self)


def _with_action(
    entry: RepositoryEntry | _EntrySource, action: Action
) -> RepositoryEntry:
    if not isinstance(entry, RepositoryEntry):
        entry = entry.to_repository_entry()
    if entry.action is not action:
        raise MinosRepositoryException(
            f"cannot {action.value} with an entry whose action is "
            f"{entry.action.value!r}; use submit()"
        )
    return entry


def conflict_error(
    entry: RepositoryEntry,
    last: tuple[int, Action] | None,
    owner: str | None = None,
) -> MinosRepositoryConflictException:
    """Explain why ``entry`` does not follow ``last`` (latest version and action)
    of the aggregate that ``owner`` (a stored class name) holds the uuid for."""
    name, uuid = entry.aggregate_name, entry.aggregate_uuid
    what = f"{entry.action.value} of {name} {uuid}"
    if entry.version is not None:
        what += f" version {entry.version}"
    if last is None:
        if entry.action is Action.CREATE:
            reason = "the event store refused it"
        else:
            reason = "the aggregate does not exist in the event store"
    else:
        last_version, last_action = last
        if owner is not None and owner != name:
            reason = (
                f"that uuid belongs to a stored {owner} (version {last_version}); "
                f"use a new uuid"
            )
        elif last_action is Action.DELETE:
            reason = (
                f"the aggregate was deleted at version {last_version}; a deleted "
                f"uuid cannot be used again"
            )
        elif entry.action is Action.CREATE:
            reason = f"the aggregate already exists (version {last_version})"
        else:
            reason = (
                f"the stored version is {last_version}; another writer saved "
                f"it first: reload the aggregate and apply the change again"
            )
    return MinosRepositoryConflictException(
        f"Version conflict: cannot store the {what}: {reason}",
        aggregate_name=name,
        aggregate_uuid=uuid,
        version=entry.version,
        last_version=last[0] if last is not None else None,
    )


def follows(entry: RepositoryEntry, last: tuple[int, Action] | None) -> int | None:
    """The version ``entry`` gets after ``last``, or ``None`` if it does not follow."""
    if entry.action is Action.CREATE:
        expected = 1 if last is None else None
    elif last is None or last[1] is Action.DELETE:
        expected = None
    else:
        expected = last[0] + 1
    if expected is None or (entry.version is not None and entry.version != expected):
        return None
    return expected
