"""``Aggregate``: the root entity whose changes are stored as events."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from dependency_injector.wiring import Provide

from ..importlib import classname as dotted_name
from ..interfaces import MinosBroker
from ..model import Entity, EntitySet, Model, ValueObjectSet, field
from ..repository.abc import MinosRepository
from ..repository.entries import Action
from ..repository.exceptions import MinosRepositoryNotProvidedException
from .diffs import AggregateDiff, FieldDiff, FieldDiffContainer, IncrementalFieldDiff
from .exceptions import MinosAggregateException, MinosBrokerNotProvidedException

if TYPE_CHECKING:
    from ..snapshot.abc import MinosSnapshot
    from ..snapshot.conditions import Condition
    from ..snapshot.ordering import Ordering

logger = logging.getLogger(__name__)

__all__ = ["Aggregate", "NULL_DATETIME", "aggregate_class"]

#: ``created_at``/``updated_at`` of an aggregate that was never stored.
NULL_DATETIME = datetime(1970, 1, 1, tzinfo=UTC)

BASE_FIELDS = frozenset({"uuid", "version", "created_at", "updated_at"})

# Values compared as they are when remembering the stored state.
_SCALARS = (str, int, float, bool, bytes, UUID, datetime, Decimal, Enum, type(None))

# The collaborators of aggregates: attribute -> (injection name, usual class).
_INJECTIONS = {
    "_repository": ("repository", "minos.common.PostgreSqlRepository"),
    "_snapshot": ("snapshot", "minos.common.PostgreSqlSnapshot"),
    "_broker": ("event_broker", "minos.networks.EventBroker"),
}

# Aggregate classes by dotted name, so stored events find their class again.
_CLASSES: dict[str, type[Aggregate]] = {}


class _ClassName:
    """The dotted path of the class, read on the class or on an instance."""

    def __get__(self, instance: Any, owner: type) -> str:
        return owner.__dict__.get("_classname") or dotted_name(owner)


class Aggregate(Entity):
    """An event-sourced root entity: ``uuid``, ``version``, ``created_at``,
    ``updated_at`` and the fields a subclass declares.

    ``save()`` stores the difference with the last stored state as an
    ``AggregateDiff`` and queues its events in the same transaction. The
    repository, snapshot store and event broker come from the container
    (``repository``, ``snapshot`` and ``event_broker`` injections) or from the
    ``_repository``, ``_snapshot`` and ``_broker`` keyword arguments.

    The event broker must queue in the event store's database (the
    transactional outbox), else ``save`` refuses. A snapshot store in another
    database is written once the outermost transaction commits. Set
    ``_classname`` on a class to keep the name its stored events carry when
    the class is renamed or moved.
    """

    version: int = field(default=0, kw_only=True)
    created_at: datetime = field(default=NULL_DATETIME, kw_only=True)
    updated_at: datetime = field(default=NULL_DATETIME, kw_only=True)

    _repository = Provide["repository"]
    _snapshot = Provide["snapshot"]
    _broker = Provide["event_broker"]

    classname = _ClassName()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _refuse_reserved_fields(cls)
        # An explicit ``_classname`` keeps stored events readable after the
        # class is renamed or moved; otherwise the dotted path names it.
        explicit = cls.__dict__.get("_classname")
        if explicit is not None and (not isinstance(explicit, str) or not explicit):
            raise MinosAggregateException(
                f"{cls.__name__}._classname must be a non-empty string (the name "
                f"its stored events carry), not {explicit!r}"
            )
        name = explicit or dotted_name(cls)
        cls._classname = name
        _CLASSES[name] = cls
        _CLASSES.setdefault(dotted_name(cls), cls)

    def __init__(
        self,
        *args: Any,
        _repository: MinosRepository | None = None,
        _snapshot: MinosSnapshot | None = None,
        _broker: MinosBroker | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        version = self.__dict__.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise MinosAggregateException(
                f"{type(self).__name__}: version must be a non-negative int (0 for "
                f"an aggregate never saved), not {version!r}"
            )
        self._attach(_repository, _snapshot, _broker)
        object.__setattr__(self, "_persisted", None)
        object.__setattr__(self, "_built", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in BASE_FIELDS and self.__dict__.get("_built"):
            raise MinosAggregateException(
                f"{type(self).__name__}.{name} is kept by the event store and "
                f"cannot be set; save() advances version and updated_at, and "
                f"refresh() or get() load the stored ones"
            )
        super().__setattr__(name, value)

    # --- collaborators ----------------------------------------------------------------

    def _attach(
        self,
        repository: MinosRepository | None = None,
        snapshot: MinosSnapshot | None = None,
        broker: MinosBroker | None = None,
    ) -> Self:
        if repository is not None:
            object.__setattr__(self, "_repository", repository)
        if snapshot is not None:
            object.__setattr__(self, "_snapshot", snapshot)
        if broker is not None:
            object.__setattr__(self, "_broker", broker)
        return self

    @classmethod
    def _need(cls, holder: Any, explicit: Any, attribute: str) -> Any:
        """The collaborator ``attribute`` (given, attached or injected), or a
        clear error naming the missing injection."""
        value = explicit if explicit is not None else getattr(holder, attribute, None)
        if _usable(attribute, value):
            return value
        injection, example = _INJECTIONS[attribute]
        raise _not_provided(attribute)(
            f"{cls.__name__} needs the {injection!r} injection: add "
            f"'{injection}: {example}' to service.injections in the config (and "
            f"wire the container), or pass {attribute}=... explicitly"
        )

    # --- state ------------------------------------------------------------------------

    def state_fields(self) -> dict[str, Any]:
        """The declared fields (all but uuid, version, created_at, updated_at)."""
        # Field names may shadow mapping methods (a field called ``items``).
        values = self.__dict__
        return {k: values[k] for k in self._field_hints() if k not in BASE_FIELDS}

    def _mark_persisted(self) -> None:
        """Remember the field values as stored, to diff the next ``save`` against.

        A fingerprint of each value is kept (never a copy of a referenced
        aggregate or its collaborators), plus a copy of entity and value
        object sets so their next change is stored element by element. It
        never raises: it runs after a commit.
        """
        fingerprints: dict[str, Any] = {}
        sets: dict[str, Any] = {}
        for name, value in self.state_fields().items():
            fingerprints[name] = _fingerprint(value)
            if isinstance(value, EntitySet | ValueObjectSet):
                try:
                    sets[name] = copy.deepcopy(value)
                except Exception:  # stored whole next time instead
                    logger.debug("Cannot copy %s.%s", type(self).__name__, name)
        object.__setattr__(self, "_persisted", (fingerprints, sets))

    @property
    def persisted(self) -> bool:
        """Whether this aggregate has been stored at least once."""
        return self.version > 0

    def diff(self, old: Aggregate | Mapping[str, Any] | None = None) -> AggregateDiff:
        """The change from ``old`` (default: the last stored state) to this state."""
        if old is None:
            remembered = self.__dict__.get("_persisted")
            if remembered is None:
                return AggregateDiff.from_aggregate(self)
            return self._diff_from_remembered(*remembered)
        return AggregateDiff.from_difference(
            self, old if isinstance(old, Aggregate) else dict(old)
        )

    def _diff_from_remembered(
        self, fingerprints: dict[str, Any], sets: dict[str, Any]
    ) -> AggregateDiff:
        hints = type(self).field_types()
        changed = {
            name: value
            for name, value in self.state_fields().items()
            if name not in fingerprints or _fingerprint(value) != fingerprints[name]
        }
        container = FieldDiffContainer.from_difference(
            changed, {name: sets[name] for name in changed if name in sets}, hints
        )
        # A change the sets' own comparison misses is stored whole.
        found = {change.name for change in container.diffs}
        diffs = [
            change
            for name, value in changed.items()
            for change in (
                [c for c in container.diffs if c.name == name]
                if name in found
                else [FieldDiff(name, value, hint=hints.get(name))]
            )
        ]
        return AggregateDiff(
            self.uuid,
            self.classname,
            self.version + 1,
            Action.UPDATE,
            datetime.now(UTC),
            FieldDiffContainer(diffs),
        )

    def apply_diff(self, diff: AggregateDiff) -> None:
        """Apply a stored change (the next version); the result counts as stored."""
        if diff.uuid != self.uuid:
            raise MinosAggregateException(
                f"Cannot apply a diff of {diff.uuid} to {type(self).__name__} "
                f"{self.uuid}"
            )
        if diff.version <= self.version:
            from ..snapshot.exceptions import MinosPreviousVersionSnapshotException

            raise MinosPreviousVersionSnapshotException(
                f"{type(self).__name__} {self.uuid} is at version {self.version}; "
                f"its diff of version {diff.version} is not newer"
            )
        for change in diff.fields_diff.diffs:
            if isinstance(change, IncrementalFieldDiff):
                container = getattr(self, change.name)
                if change.action is Action.DELETE:
                    container.discard(change.value)
                else:
                    container.add(change.value)
            else:
                setattr(self, change.name, change.value)
        self.__dict__["version"] = diff.version
        self.__dict__["updated_at"] = diff.created_at
        self._mark_persisted()

    @classmethod
    def from_diff(cls, diff: AggregateDiff, **kwargs: Any) -> Self:
        """Build an aggregate from the diff that created it."""
        if diff.action is not Action.CREATE:
            raise MinosAggregateException(
                f"{cls.__name__} {diff.uuid} cannot be built from a diff with action "
                f"{diff.action.value!r}; its history must start with a creation"
            )
        values = dict(diff.get_all())
        instance = cls(
            **values,
            uuid=diff.uuid,
            version=diff.version,
            created_at=diff.created_at,
            updated_at=diff.created_at,
            **kwargs,
        )
        instance._mark_persisted()
        return instance

    @classmethod
    def from_document(cls, document: Mapping[str, Any], **kwargs: Any) -> Self:
        """Build a stored aggregate from its snapshot document (JSON data)."""
        instance = cls.from_dict(document)
        instance._attach(**kwargs)
        instance._mark_persisted()
        return instance

    # --- reading ----------------------------------------------------------------------

    @classmethod
    async def get(
        cls,
        uuid: UUID | str,
        *,
        _repository: MinosRepository | None = None,
        _snapshot: MinosSnapshot | None = None,
        _broker: MinosBroker | None = None,
    ) -> Self:
        """The latest stored version of the aggregate with this uuid."""
        snapshot = cls._need(cls, _snapshot, "_snapshot")
        aggregate = await snapshot.get(cls, _as_uuid(cls, uuid))
        return aggregate._attach(_repository, _snapshot, _broker)

    @classmethod
    async def find(
        cls,
        condition: Condition,
        ordering: Ordering | None = None,
        limit: int | None = None,
        *,
        _repository: MinosRepository | None = None,
        _snapshot: MinosSnapshot | None = None,
        _broker: MinosBroker | None = None,
    ) -> AsyncIterator[Self]:
        """The stored aggregates of this class matching ``condition``."""
        snapshot = cls._need(cls, _snapshot, "_snapshot")
        async for aggregate in snapshot.find(cls, condition, ordering, limit):
            yield aggregate._attach(_repository, _snapshot, _broker)

    async def refresh(self) -> None:
        """Reload the latest stored version, dropping unsaved changes."""
        snapshot = self._need(self, None, "_snapshot")
        fresh = await snapshot.get(type(self), self.uuid)
        self.__dict__.update({k: fresh.__dict__[k] for k in self._field_hints()})
        self._mark_persisted()

    # --- writing ----------------------------------------------------------------------

    @classmethod
    async def create(cls, *args: Any, **kwargs: Any) -> Self:
        """Build an aggregate, store its creation and publish ``<Name>Created``."""
        instance = cls(*args, **kwargs)
        await instance.save()
        return instance

    async def update(self, **fields: Any) -> Self:
        """Set some fields and ``save()``."""
        for name in fields:
            if name in BASE_FIELDS or name not in self:
                raise MinosAggregateException(
                    f"{type(self).__name__}.update: {name!r} is not a field that "
                    f"can be updated; its fields are: {', '.join(self.state_fields())}"
                )
        # All values are validated before the change counts: one bad value
        # leaves every field as it was.
        before = {name: self.__dict__[name] for name in fields}
        try:
            for name, value in fields.items():
                setattr(self, name, value)
        except BaseException:
            self.__dict__.update(before)
            raise
        await self.save()
        return self

    async def save(self) -> None:
        """Store what changed since the last save and publish its events.

        Does nothing when nothing changed. A concurrent save of the same version
        raises ``MinosRepositoryConflictException`` and stores nothing.
        """
        if not self.persisted:
            await self._store(AggregateDiff.from_aggregate(self))
            return
        if self.__dict__.get("_persisted") is None:
            # Built from data (a message, a saga context): compare with the store.
            snapshot = self._need(self, None, "_snapshot")
            diff = self.diff(await snapshot.get(type(self), self.uuid))
        else:
            diff = self.diff()
        if diff.fields_diff:
            await self._store(diff)

    async def delete(self) -> None:
        """Store the deletion and publish ``<Name>Deleted``."""
        if not self.persisted:
            raise MinosAggregateException(
                f"{type(self).__name__} {self.uuid} was never saved, so it cannot "
                f"be deleted"
            )
        await self._store(AggregateDiff.from_deleted_aggregate(self))

    async def _store(self, diff: AggregateDiff) -> None:
        repository: MinosRepository = self._need(self, None, "_repository")
        snapshot: MinosSnapshot = self._need(self, None, "_snapshot")
        broker: MinosBroker = self._need(self, None, "_broker")
        await repository.setup()
        await snapshot.setup()
        await broker.setup()

        _check_outbox(type(self), repository, broker)
        previous = (self.version, self.created_at, self.updated_at)
        joined = snapshot.joins_transaction_of(repository)
        deleted = diff.action is Action.DELETE
        try:
            async with repository.transaction():
                # The state after the change, which the snapshot row holds.
                self.__dict__["version"] = diff.version
                self.__dict__["updated_at"] = diff.created_at
                if diff.action is Action.CREATE:
                    self.__dict__["created_at"] = diff.created_at
                if joined:
                    await snapshot.store_with_event(
                        repository, diff, self, deleted=deleted
                    )
                else:
                    await repository.submit(diff)
                key = str(self.uuid)
                for topic, event in diff.topics():
                    await broker.send(event, topic=topic, key=key)
                if not joined:
                    # The snapshot store lives elsewhere: update it once the
                    # outermost transaction commits (never for a rolled-back
                    # change); if that fails, ``get`` and the snapshot service
                    # catch up from the event store.
                    row = snapshot.row_of(self, deleted=deleted)
                    await repository.after_commit(functools.partial(snapshot.put, row))
        except BaseException:
            version, created_at, updated_at = previous
            self.__dict__.update(
                version=version, created_at=created_at, updated_at=updated_at
            )
            raise
        # Limitation: inside a transaction the caller opened, this instance
        # counts as stored even if that transaction later rolls back; get() it
        # again then.
        self._mark_persisted()


def aggregate_class(name: str | type[Aggregate]) -> type[Aggregate]:
    """The aggregate class stored events name (a dotted path)."""
    if isinstance(name, type):
        return name
    found = _CLASSES.get(name)
    if found is not None:
        return found
    from ..importlib import import_module

    found = import_module(name)
    if not isinstance(found, type) or not issubclass(found, Aggregate):
        raise MinosAggregateException(f"{name!r} does not name an Aggregate class")
    return found


def _fingerprint(value: Any) -> Any:
    """A comparable picture of a field value: equal pictures, nothing to store.

    Referenced aggregates count by uuid; containers and models are walked, so
    an in-place change anywhere inside (a list in a value object) shows.
    """
    if isinstance(value, _SCALARS):
        return (type(value), value)
    if isinstance(value, Aggregate):
        return (Aggregate, value.uuid)
    if isinstance(value, Model):
        values = value.__dict__
        return (
            type(value),
            tuple((name, _fingerprint(values[name])) for name in value._field_hints()),
        )
    if isinstance(value, Mapping):
        items = [(_fingerprint(k), _fingerprint(v)) for k, v in value.items()]
        return (type(value), tuple(sorted(items, key=repr)))
    if isinstance(value, set | frozenset | ValueObjectSet):
        return (type(value), tuple(sorted(map(_fingerprint, value), key=repr)))
    if isinstance(value, list | tuple | EntitySet):
        return (type(value), tuple(map(_fingerprint, value)))
    try:
        return (type(value), copy.deepcopy(value))
    except Exception:  # not copyable: compared by its text
        return (type(value), repr(value))


def _refuse_reserved_fields(cls: type[Aggregate]) -> None:
    """Refuse fields that would hide what every aggregate has (``version``...)."""
    reserved = BASE_FIELDS | {name for name in vars(Aggregate) if name[0] != "_"}
    for klass in cls.__mro__:
        if klass is Aggregate:
            break
        for name in klass.__dict__.get("__annotations__", {}):
            if name in reserved:
                raise MinosAggregateException(
                    f"{cls.__name__}.{name}: an aggregate field cannot be named "
                    f"{name!r}, every Aggregate has that member; rename the field"
                )


def _check_outbox(
    cls: type[Aggregate], repository: MinosRepository, broker: MinosBroker
) -> None:
    """Refuse a broker queueing in another database than the event store: its
    outbox rows would commit even when the event is rolled back."""
    from ..database import DatabasePool

    queue = getattr(broker, "pool", None)
    if not isinstance(queue, DatabasePool):
        return  # a broker without a database keeps nothing to roll back
    store = getattr(repository, "pool", None)
    if store is queue:
        return
    where = store.description if isinstance(store, DatabasePool) else "memory"
    raise MinosAggregateException(
        f"{cls.__name__}.save: the event broker queues in {queue.description} but "
        f"the event store is in {where}; the transactional outbox needs one "
        f"database: give broker.queue the repository's database settings"
    )


def _usable(attribute: str, value: Any) -> bool:
    if attribute == "_repository":
        return isinstance(value, MinosRepository)
    if attribute == "_broker":
        return callable(getattr(value, "send", None))
    # The snapshot package imports this module, so it is imported late here.
    from ..snapshot.abc import MinosSnapshot

    return isinstance(value, MinosSnapshot)


def _not_provided(attribute: str) -> type[Exception]:
    if attribute == "_repository":
        return MinosRepositoryNotProvidedException
    if attribute == "_broker":
        return MinosBrokerNotProvidedException
    from ..snapshot.exceptions import MinosSnapshotNotProvidedException

    return MinosSnapshotNotProvidedException


def _as_uuid(cls: type, uuid: Any) -> UUID:
    if isinstance(uuid, UUID):
        return uuid
    if isinstance(uuid, str):
        try:
            return UUID(uuid)
        except ValueError:
            pass
    from ..snapshot.exceptions import MinosSnapshotAggregateNotFoundException

    raise MinosSnapshotAggregateNotFoundException(
        f"{cls.__name__}: {uuid!r} is not a UUID, so no aggregate has it"
    )
