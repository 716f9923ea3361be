"""Diffs: what one stored change of an aggregate holds, and what events carry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Union
from uuid import UUID

from ..model import (
    DataTransferObject,
    DeclarativeModel,
    EntitySet,
    ModelType,
    ValueObjectSet,
    decode_value,
    encode_value,
)
from ..repository.entries import Action, RepositoryEntry
from .exceptions import MinosAggregateException

if TYPE_CHECKING:
    from .model import Aggregate

__all__ = ["AggregateDiff", "FieldDiff", "FieldDiffContainer", "IncrementalFieldDiff"]

_UNSET = object()

# A field value is encoded inside a one-field record typed with the field's
# declared type when it is known: an empty ``EntitySet[Item]`` says nothing
# about ``Item`` by itself.
_WRAPPER_NAME = "FieldDiffValue"
_WRAPPER_NAMESPACE = "minos.common.aggregate"
_WRAPPERS: dict[Any, type[DataTransferObject]] = {}


def encode_field_value(value: Any, hint: Any = None) -> bytes:
    """The Avro bytes of a field value, typed with ``hint`` when given."""
    if hint is None:
        return encode_value(value)
    try:
        wrapper = _WRAPPERS.get(hint)
    except TypeError:  # an unhashable hint: build the type every time
        wrapper = None
    if wrapper is None:
        wrapper = ModelType.build(_WRAPPER_NAME, {"value": hint}, _WRAPPER_NAMESPACE)
        try:
            _WRAPPERS[hint] = wrapper
        except TypeError:
            pass
    return encode_value(wrapper(value))


def decode_field_value(data: bytes) -> Any:
    """The field value ``encode_field_value`` encoded."""
    value = decode_value(data)
    if isinstance(value, DataTransferObject) and type(value).__name__ == _WRAPPER_NAME:
        return value.value
    return value


class FieldDiff(DeclarativeModel):
    """One field of an aggregate and its new value.

    The value travels Avro-encoded in ``data`` (values of one field may have
    different types from one change to another, which a shared record schema
    cannot hold); ``value`` decodes it once.
    """

    name: str
    data: bytes

    def __init__(
        self, name: str, value: Any = _UNSET, *, hint: Any = None, data: Any = _UNSET
    ) -> None:
        if value is not _UNSET:
            data = encode_field_value(value, hint)
        if data is _UNSET:
            raise MinosAggregateException(f"FieldDiff {name!r} needs a value")
        super().__init__(name, data)
        if value is not _UNSET:
            object.__setattr__(self, "_value", value)

    @property
    def value(self) -> Any:
        """The new value of the field."""
        try:
            return self.__dict__["_value"]
        except KeyError:
            value = decode_field_value(self.data)
            object.__setattr__(self, "_value", value)
            return value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldDiff):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.name == other.name
            and self.value == other.value
            and getattr(self, "action", None) == getattr(other, "action", None)
        )

    __hash__ = None  # type: ignore[assignment]

    # The mapping view (``dict(diff)``, iteration) shows the decoded value.
    _view: tuple[str, ...] = ("name", "value")

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self._view)

    def values(self) -> list[Any]:
        return [getattr(self, key) for key in self._view]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, getattr(self, key)) for key in self._view]

    def __iter__(self) -> Iterator[str]:
        return iter(self._view)

    def __len__(self) -> int:
        return len(self._view)

    def __contains__(self, key: object) -> bool:
        return key in self._view

    def __getitem__(self, key: str) -> Any:
        if key not in self._view:
            raise KeyError(key)
        return getattr(self, key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, value={self.value!r})"


class IncrementalFieldDiff(FieldDiff):
    """One element added to, removed from or replaced in a set field."""

    action: Action

    def __init__(
        self,
        name: str,
        value: Any = _UNSET,
        action: Action | str = Action.CREATE,
        *,
        data: Any = _UNSET,
    ) -> None:
        if value is not _UNSET:
            data = encode_field_value(value)
        if data is _UNSET:
            raise MinosAggregateException(
                f"IncrementalFieldDiff {name!r} needs a value"
            )
        DeclarativeModel.__init__(self, name, data, Action.value_of(action))
        if value is not _UNSET:
            object.__setattr__(self, "_value", value)

    _view = ("name", "value", "action")

    def __repr__(self) -> str:
        return (
            f"IncrementalFieldDiff(name={self.name!r}, value={self.value!r}, "
            f"action={self.action.value!r})"
        )


AnyFieldDiff = Union[IncrementalFieldDiff, FieldDiff]  # noqa: UP007


class FieldDiffContainer(DeclarativeModel):
    """The changed fields of one diff, readable as a mapping.

    ``items()`` yields ``(name, FieldDiff)`` for plain fields and
    ``(name, [IncrementalFieldDiff, ...])`` for set fields changed element by
    element.
    """

    diffs: list[AnyFieldDiff]

    def __init__(self, diffs: Iterable[FieldDiff] = (), **kwargs: Any) -> None:
        super().__init__(list(diffs), **kwargs)

    def _grouped(self) -> dict[str, FieldDiff | list[IncrementalFieldDiff]]:
        grouped: dict[str, Any] = {}
        for diff in self.diffs:
            if isinstance(diff, IncrementalFieldDiff):
                grouped.setdefault(diff.name, []).append(diff)
            else:
                grouped[diff.name] = diff
        return grouped

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self._grouped())

    def values(self) -> list[Any]:
        return list(self._grouped().values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._grouped().items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._grouped())

    def __len__(self) -> int:
        return len(self._grouped())

    def __bool__(self) -> bool:
        return bool(self.diffs)

    def __contains__(self, name: object) -> bool:
        return any(diff.name == name for diff in self.diffs)

    def __getitem__(self, name: str) -> Any:
        return self._grouped()[name]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldDiffContainer):
            return NotImplemented
        return self._grouped() == other._grouped()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FieldDiffContainer({self.diffs!r})"

    @classmethod
    def from_values(
        cls, values: dict[str, Any], hints: dict[str, Any] | None = None
    ) -> FieldDiffContainer:
        """One ``FieldDiff`` per item of ``values`` (typed with ``hints``)."""
        hints = hints or {}
        return cls(
            FieldDiff(name, value, hint=hints.get(name))
            for name, value in values.items()
        )

    @classmethod
    def from_difference(
        cls,
        new: dict[str, Any],
        old: dict[str, Any],
        hints: dict[str, Any] | None = None,
    ) -> FieldDiffContainer:
        """The diffs that turn the ``old`` field values into the ``new`` ones."""
        hints = hints or {}
        diffs: list[FieldDiff] = []
        for name, value in new.items():
            previous = old.get(name, _UNSET)
            if previous is not _UNSET and _same(value, previous):
                continue
            if isinstance(value, EntitySet | ValueObjectSet) and isinstance(
                previous, EntitySet | ValueObjectSet
            ):
                changes = value.diff(previous)
                diffs += [
                    IncrementalFieldDiff(name, v, Action.CREATE) for v in changes.added
                ]
                diffs += [
                    IncrementalFieldDiff(name, v, Action.UPDATE)
                    for v in changes.updated
                ]
                diffs += [
                    IncrementalFieldDiff(name, v, Action.DELETE)
                    for v in changes.removed
                ]
            else:
                diffs.append(FieldDiff(name, value, hint=hints.get(name)))
        return cls(diffs)


def _same(value: Any, previous: Any) -> bool:
    if type(value) is not type(previous):
        return False
    try:
        return bool(value == previous)
    except Exception:  # values that cannot be compared count as changed
        return False


class AggregateDiff(DeclarativeModel):
    """One change of an aggregate: what the event store keeps and events carry."""

    uuid: UUID
    name: str
    version: int
    action: Action
    created_at: datetime
    fields_diff: FieldDiffContainer

    @property
    def simplified_name(self) -> str:
        """The class name without its module (``Book`` for ``shop.books.Book``)."""
        return self.name.rsplit(".", 1)[-1]

    def get_one(self, name: str, return_diff: bool = False) -> Any:
        """The new value of a field (a list of values for a set changed by element)."""
        try:
            diff = self.fields_diff[name]
        except KeyError:
            known = ", ".join(self.fields_diff.keys()) or "none"
            raise MinosAggregateException(
                f"{self.simplified_name} diff of version {self.version} has no field "
                f"{name!r}; its fields are: {known}"
            ) from None
        if return_diff:
            return diff
        if isinstance(diff, list):
            return [d.value for d in diff]
        return diff.value

    def get_all(self, return_diff: bool = False) -> dict[str, Any]:
        """Every changed field and its new value."""
        return {name: self.get_one(name, return_diff) for name in self.fields_diff}

    def decompose(self) -> list[AggregateDiff]:
        """One diff per changed field (per element for set fields)."""
        return [
            AggregateDiff(
                self.uuid,
                self.name,
                self.version,
                self.action,
                self.created_at,
                FieldDiffContainer([diff]),
            )
            for diff in self.fields_diff.diffs
        ]

    def topics(self) -> list[tuple[str, AggregateDiff]]:
        """The events that publish this change: topic and payload, in order."""
        name = self.simplified_name
        if self.action is Action.CREATE:
            return [(f"{name}Created", self)]
        if self.action is Action.DELETE:
            return [(f"{name}Deleted", self)]
        events = [(f"{name}Updated", self)]
        for part in self.decompose():
            (diff,) = part.fields_diff.diffs
            topic = f"{name}Updated.{diff.name}"
            if isinstance(diff, IncrementalFieldDiff):
                topic += f".{diff.action.value}"
            events.append((topic, part))
        return events

    @classmethod
    def from_aggregate(
        cls, aggregate: Aggregate, action: Action = Action.CREATE
    ) -> AggregateDiff:
        """The creation of ``aggregate``: all its fields."""
        return cls(
            aggregate.uuid,
            aggregate.classname,
            aggregate.version + 1,
            action,
            datetime.now(UTC),
            FieldDiffContainer.from_values(
                aggregate.state_fields(), type(aggregate).field_types()
            ),
        )

    @classmethod
    def from_difference(
        cls, new: Aggregate, old: Aggregate | dict[str, Any]
    ) -> AggregateDiff:
        """The update from ``old`` (an aggregate or its field values) to ``new``."""
        old_fields = old.state_fields() if not isinstance(old, dict) else old
        return cls(
            new.uuid,
            new.classname,
            new.version + 1,
            Action.UPDATE,
            datetime.now(UTC),
            FieldDiffContainer.from_difference(
                new.state_fields(), old_fields, type(new).field_types()
            ),
        )

    @classmethod
    def from_deleted_aggregate(cls, aggregate: Aggregate) -> AggregateDiff:
        """The deletion of ``aggregate``."""
        return cls(
            aggregate.uuid,
            aggregate.classname,
            aggregate.version + 1,
            Action.DELETE,
            datetime.now(UTC),
            FieldDiffContainer(),
        )

    def to_repository_entry(self) -> RepositoryEntry:
        """The event store entry of this diff."""
        return RepositoryEntry(
            self.uuid,
            self.name,
            self.version,
            encode_value(self.fields_diff),
            self.action,
            self.created_at,
        )

    @classmethod
    def from_repository_entry(cls, entry: RepositoryEntry) -> AggregateDiff:
        """The diff an event store entry holds."""
        fields_diff = decode_value(entry.data)
        if not isinstance(fields_diff, FieldDiffContainer):
            raise MinosAggregateException(
                f"Event {entry.id} of {entry.aggregate_name} {entry.aggregate_uuid} "
                f"does not hold field diffs"
            )
        return cls(
            entry.aggregate_uuid,
            entry.aggregate_name,
            entry.version,
            entry.action,
            entry.created_at,
            fields_diff,
        )
