"""The snapshot store interface: the latest state of every aggregate."""

from __future__ import annotations

import asyncio
import logging
import time
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from dependency_injector.wiring import Provide

from ..aggregate.diffs import AggregateDiff
from ..aggregate.model import Aggregate, aggregate_class
from ..exceptions import MinosDatabaseException, MinosException
from ..model import Model
from ..repository.abc import MinosRepository
from ..repository.entries import Action, RepositoryEntry
from ..setup import MinosSetup
from .conditions import Condition, with_decimal_fields
from .documents import document_value
from .exceptions import (
    MinosSnapshotAggregateNotFoundException,
    MinosSnapshotDeletedAggregateException,
    MinosSnapshotQueryException,
)
from .ordering import Ordering

logger = logging.getLogger(__name__)

__all__ = ["MinosSnapshot", "SnapshotRow"]


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """The stored state of one aggregate; ``document`` is ``None`` once deleted."""

    uuid: UUID
    name: str
    version: int
    document: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class MinosSnapshot(MinosSetup, ABC):
    """Answers ``get`` and ``find`` for aggregates without replaying their events.

    The store is updated by ``Aggregate.save`` (in the event's transaction when
    both live in one database) and catches up from the event store otherwise:
    ``get`` compares with the aggregate's latest stored version and applies the
    missing events; ``synchronize`` (run by ``SnapshotService``) applies every
    event stored since the last run.
    """

    _repository = Provide["repository"]

    #: Events newer than this may still commit before older ids on PostgreSQL,
    #: so ``synchronize`` reads them again next time.
    commit_margin: timedelta = timedelta(seconds=2)

    def __init__(
        self, *args: Any, repository: MinosRepository | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if repository is not None:
            self._repository = repository
        self._sync_lock = asyncio.Lock()

    @property
    def repository(self) -> MinosRepository | None:
        """The event store this snapshot catches up from, if there is one."""
        value = self._repository
        return value if isinstance(value, MinosRepository) else None

    def joins_transaction_of(self, repository: MinosRepository) -> bool:
        """Whether ``store`` writes in ``repository``'s open transaction."""
        return False

    # --- reading ----------------------------------------------------------------------

    async def get(
        self, aggregate_name: str | type[Aggregate], uuid: UUID, **kwargs: Any
    ) -> Aggregate:
        """The latest version of an aggregate (caught up with the event store)."""
        cls = aggregate_class(aggregate_name)
        if not isinstance(uuid, UUID):
            raise MinosSnapshotAggregateNotFoundException(
                f"{cls.__name__}: {uuid!r} is not a UUID, so no aggregate has it"
            )
        await self.setup()
        row, last_version = await self._load_with_last_version(uuid)
        if (
            row is not None
            and self.repository is not None
            and (last_version is None or row.version > last_version)
        ):
            # Ahead of the event store: a change that was rolled back after
            # its snapshot was written. The events are the truth.
            logger.warning(
                "Snapshot of %s %s is at version %s but the event store at %s; "
                "rebuilding it from the events",
                row.name,
                uuid,
                row.version,
                last_version,
            )
            await self._remove(uuid)
            row = await self._catch_up(uuid, None)
        elif last_version is not None and (row is None or row.version < last_version):
            row = await self._catch_up(uuid, row)
        if row is None:
            raise MinosSnapshotAggregateNotFoundException(
                f"There is no {cls.__name__} with uuid {uuid}"
            )
        if row.name != cls.classname:
            raise MinosSnapshotAggregateNotFoundException(
                f"There is no {cls.__name__} ({cls.classname}) with uuid {uuid}: "
                f"that uuid belongs to a stored {row.name}"
            )
        if row.document is None:
            raise MinosSnapshotDeletedAggregateException(
                f"The {cls.__name__} with uuid {uuid} was deleted "
                f"(version {row.version})"
            )
        try:
            return cls.from_document(row.document, **kwargs)
        except Exception as exc:
            repaired = await self._repair(cls, uuid, Condition.TRUE, exc, **kwargs)
            if repaired is None:
                raise MinosSnapshotAggregateNotFoundException(
                    f"The stored {cls.__name__} with uuid {uuid} cannot be read "
                    f"({exc}) nor rebuilt from the event store"
                ) from exc
            return repaired

    async def find(
        self,
        aggregate_name: str | type[Aggregate],
        condition: Condition = Condition.TRUE,
        ordering: Ordering | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Aggregate]:
        """The aggregates of one class matching ``condition``, in ``ordering``."""
        cls = aggregate_class(aggregate_name)
        if not isinstance(condition, Condition):
            raise MinosSnapshotQueryException(
                f"find({cls.__name__}): the condition must be a Condition such as "
                f"Condition.EQUAL('field', value), not {condition!r}"
            )
        if ordering is not None and not isinstance(ordering, Ordering):
            raise MinosSnapshotQueryException(
                f"find({cls.__name__}): the ordering must be Ordering.ASC(field) or "
                f"Ordering.DESC(field), not {ordering!r}"
            )
        if limit is not None and (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 0 <= limit <= 2**63 - 1
        ):
            raise MinosSnapshotQueryException(
                f"find({cls.__name__}): the limit must be an int from 0 to 2**63 - 1, "
                f"not {limit!r}"
            )
        if ordering is not None and _is_composite_field(cls, ordering.path):
            raise MinosSnapshotQueryException(
                f"find({cls.__name__}): cannot order by {ordering.field!r}, it holds "
                f"a list, a mapping or a model; order by one of its scalar fields"
            )
        condition = with_decimal_fields(
            condition, lambda path: _is_decimal_field(cls, path)
        )
        if ordering is not None and _is_decimal_field(cls, ordering.path):
            ordering = ordering.as_numeric()
        await self.setup()
        if self._find_synchronizes:
            await self.synchronize()
        rows = await self._query(cls.classname, condition, ordering, limit)
        for uuid, document in rows:
            try:
                if document is None:
                    raise ValueError("the stored document is not valid JSON")
                aggregate = cls.from_document(document, **kwargs)
            except Exception as exc:
                aggregate = await self._repair(cls, uuid, condition, exc, **kwargs)
                if aggregate is None:
                    continue
            yield aggregate

    async def _repair(
        self,
        cls: type[Aggregate],
        uuid: UUID,
        condition: Condition,
        error: Exception,
        **kwargs: Any,
    ) -> Aggregate | None:
        """Rebuild a row whose document cannot be read, from the event store; the
        aggregate if it still matches ``condition``, else ``None`` (skipped)."""
        logger.warning(
            "The snapshot document of %s %s cannot be read (%s: %s); rebuilding "
            "it from the event store",
            cls.classname,
            uuid,
            type(error).__name__,
            error,
        )
        if self.repository is None:
            return None
        try:
            await self._remove(uuid)
            row = await self._catch_up(uuid, None)
            if row is None or row.document is None or row.name != cls.classname:
                return None
            if not condition.evaluate(row.document):
                return None
            return cls.from_document(row.document, **kwargs)
        except MinosDatabaseException:
            raise
        except Exception:
            logger.warning(
                "Rebuilding %s %s failed", cls.classname, uuid, exc_info=True
            )
            return None

    #: Whether ``find`` catches up with the event store first (cheap in memory).
    _find_synchronizes: bool = True

    # --- writing ----------------------------------------------------------------------

    async def store(self, aggregate: Aggregate, *, deleted: bool = False) -> None:
        """Record the state of an aggregate unless a newer version is stored."""
        await self.put(self.row_of(aggregate, deleted=deleted))

    @staticmethod
    def row_of(aggregate: Aggregate, *, deleted: bool = False) -> SnapshotRow:
        """The row ``store`` writes for ``aggregate`` (its state now)."""
        return SnapshotRow(
            aggregate.uuid,
            aggregate.classname,
            aggregate.version,
            None if deleted else document_value(aggregate),
            aggregate.created_at,
            aggregate.updated_at,
        )

    async def put(self, row: SnapshotRow) -> None:
        """Record a row unless a newer version is stored."""
        await self.setup()
        await self._save(row)

    async def store_with_event(
        self,
        repository: MinosRepository,
        diff: AggregateDiff,
        aggregate: Aggregate,
        *,
        deleted: bool = False,
    ) -> RepositoryEntry:
        """Store ``diff`` in ``repository`` and ``aggregate`` (its state after the
        diff) here; when both share a transaction, nothing is stored on failure."""
        entry = await repository.submit(diff)
        await self.store(aggregate, deleted=deleted)
        return entry

    async def synchronize(self) -> int:
        """Apply every event stored since the last run; return how many aggregates."""
        repository = self.repository
        if repository is None:
            return 0
        await self.setup()
        async with self._sync_lock:
            offset = await self._get_offset()
            if offset > 0 and await self._is_empty():
                logger.warning(
                    "The snapshot store is empty but was synchronized up to event "
                    "%d; rebuilding it from the whole event store",
                    offset,
                )
                await self._reset()
                self._gaps.clear()
                offset = 0
            horizon = datetime.now(UTC) - self.commit_margin
            latest: dict[UUID, int] = {}
            names: dict[UUID, str] = {}

            def seen(entry: RepositoryEntry) -> None:
                assert entry.version is not None
                uuid = entry.aggregate_uuid
                latest[uuid] = max(latest.get(uuid, 0), entry.version)
                names[uuid] = entry.aggregate_name

            await self._recheck_gaps(repository, seen)
            safe, settled, previous = offset, True, offset
            gaps: list[int] = []
            async for entry in repository.select(id_gt=offset):
                assert entry.id is not None and entry.version is not None
                seen(entry)
                # Ids not seen yet may belong to transactions still open.
                gaps.extend(range(previous + 1, min(entry.id, previous + 1001)))
                previous = entry.id
                if (
                    settled
                    and entry.created_at is not None
                    and entry.created_at <= horizon
                ):
                    safe = entry.id
                else:
                    settled = False
            self._remember_gaps(gap for gap in gaps if gap < safe)
            stored = await self._load_versions(latest)
            updated = 0
            for uuid, version in latest.items():
                if stored.get(uuid, 0) < version:
                    try:
                        await self._catch_up(uuid, await self._load(uuid))
                    except MinosDatabaseException:
                        raise  # transient: the next round starts from the offset
                    except MinosException as exc:
                        # Events this process cannot apply (an unknown class...)
                        # must not stop the others; ``get`` reports them.
                        logger.warning(
                            "Snapshot of %s %s not updated: %s", names[uuid], uuid, exc
                        )
                        continue
                    updated += 1
            if safe > offset:
                await self._set_offset(safe)
        if updated:
            logger.debug("Snapshot caught up %d aggregates", updated)
        return updated

    #: How long ``synchronize`` keeps looking for an event id it skipped (an
    #: open transaction commits it late, or a rolled-back one never does).
    gap_timeout: timedelta = timedelta(minutes=10)

    #: At most this many skipped ids are remembered (the oldest are dropped).
    max_gaps: int = 10_000

    @property
    def _gaps(self) -> dict[int, float]:
        # Limitation: kept in memory, so a restart forgets the skipped ids; run
        # ``rebuild()`` if a late commit may have been missed then.
        gaps = self.__dict__.get("_gap_ids")
        if gaps is None:
            gaps = self.__dict__["_gap_ids"] = {}
        return gaps

    def _remember_gaps(self, ids: Iterable[int]) -> None:
        now = time.monotonic()
        gaps = self._gaps
        for gap in ids:
            gaps.setdefault(gap, now)
        while len(gaps) > self.max_gaps:
            del gaps[min(gaps)]

    async def _recheck_gaps(
        self, repository: MinosRepository, seen: Callable[[RepositoryEntry], None]
    ) -> None:
        """Apply events that committed after ``synchronize`` moved past their id."""
        gaps = self._gaps
        expiry = time.monotonic() - self.gap_timeout.total_seconds()
        for gap in [gap for gap, since in gaps.items() if since < expiry]:
            del gaps[gap]
        if not gaps:
            return
        if len(gaps) <= 64:
            selections = [repository.select(id=gap) for gap in list(gaps)]
        else:
            selections = [repository.select(id_ge=min(gaps), id_le=max(gaps))]
        for selection in selections:
            async for entry in selection:
                if entry.id in gaps:
                    del gaps[entry.id]
                    seen(entry)

    async def rebuild(self) -> int:
        """Forget every row and apply the whole event store again (for lost or
        damaged snapshot rows); return how many aggregates were rebuilt."""
        await self.setup()
        async with self._sync_lock:
            await self._reset()
            self._gaps.clear()
        return await self.synchronize()

    async def synchronized_until(self) -> int:
        """The id of the last event ``synchronize`` has fully applied."""
        await self.setup()
        return await self._get_offset()

    async def _catch_up(
        self, uuid: UUID, row: SnapshotRow | None
    ) -> SnapshotRow | None:
        """Apply the events of one aggregate newer than ``row`` and store the result."""
        repository = self.repository
        if repository is None:
            return row
        aggregate: Aggregate | None = None
        deleted = row is not None and row.document is None
        if row is not None and row.document is not None:
            aggregate = aggregate_class(row.name).from_document(row.document)
        version = row.version if row is not None else 0
        name = row.name if row is not None else None
        last = None
        async for entry in repository.select(aggregate_uuid=uuid, version_gt=version):
            diff = AggregateDiff.from_repository_entry(entry)
            name = entry.aggregate_name
            if diff.action is Action.CREATE:
                aggregate = aggregate_class(name).from_diff(diff)
            elif diff.action is Action.DELETE or aggregate is None:
                deleted = True
            else:
                aggregate.apply_diff(diff)
            last = entry
        if last is None or name is None:
            return row
        assert last.version is not None and last.created_at is not None
        if deleted or aggregate is None:
            created = row.created_at if row is not None else last.created_at
            caught = SnapshotRow(
                uuid, name, last.version, None, created, last.created_at
            )
        else:
            caught = SnapshotRow(
                uuid,
                name,
                aggregate.version,
                document_value(aggregate),
                aggregate.created_at,
                aggregate.updated_at,
            )
        await self._save(caught)
        return caught

    # --- what backends provide ---------------------------------------------------

    async def _load_with_last_version(
        self, uuid: UUID
    ) -> tuple[SnapshotRow | None, int | None]:
        """The stored row and the latest version in the event store."""
        row = await self._load(uuid)
        repository = self.repository
        last = await repository.last_version(uuid) if repository is not None else None
        return row, last

    @abstractmethod
    async def _load(self, uuid: UUID) -> SnapshotRow | None:
        """The stored row of one aggregate."""

    @abstractmethod
    async def _load_versions(self, uuids: Iterable[UUID]) -> dict[UUID, int]:
        """The stored version of each of these aggregates (absent ones left out)."""

    @abstractmethod
    async def _is_empty(self) -> bool:
        """Whether no row is stored."""

    @abstractmethod
    async def _reset(self) -> None:
        """Forget every row and the offset."""

    @abstractmethod
    async def _remove(self, uuid: UUID) -> None:
        """Forget the row of one aggregate."""

    @abstractmethod
    async def _save(self, row: SnapshotRow) -> None:
        """Insert or replace a row, unless a newer version is stored."""

    @abstractmethod
    async def _query(
        self,
        name: str,
        condition: Condition,
        ordering: Ordering | None,
        limit: int | None,
    ) -> list[tuple[UUID, dict[str, Any] | None]]:
        """The uuid and document of the live aggregates of ``name`` matching
        ``condition`` (``None`` for a document that is not valid JSON)."""

    @abstractmethod
    async def _get_offset(self) -> int:
        """The id of the last event ``synchronize`` fully applied."""

    @abstractmethod
    async def _set_offset(self, value: int) -> None:
        """Remember the id of the last event fully applied."""


def _field_hint(cls: type, path: tuple[str, ...]) -> Any:
    """The declared type at ``path`` in ``cls`` (``None`` made optional away),
    or ``None`` when it cannot be told."""
    owner: Any = cls
    hint: Any = None
    for segment in path:
        field_types = getattr(owner, "field_types", None)
        if not callable(field_types):
            return None
        hint = field_types().get(segment)
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(options) != 1:
                return None
            hint = options[0]
        owner = hint
    return hint


def _is_decimal_field(cls: type, path: tuple[str, ...]) -> bool:
    """Whether ``path`` names a ``Decimal`` field (possibly optional) of ``cls``."""
    return _field_hint(cls, path) is Decimal


def _is_composite_field(cls: type, path: tuple[str, ...]) -> bool:
    """Whether ``path`` names a field holding a container or a model."""
    hint = _field_hint(cls, path)
    kind = typing.get_origin(hint) or hint
    if not isinstance(kind, type):
        return False
    return issubclass(kind, list | tuple | set | frozenset | dict | Model)
