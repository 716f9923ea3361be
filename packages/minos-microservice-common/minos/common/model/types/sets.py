"""Set-valued fields of aggregates: entities keyed by UUID, value objects by value."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableSet
from typing import Any, Generic, TypeVar
from uuid import UUID

__all__ = ["EntitySet", "ValueObjectSet", "SetDiff"]

T = TypeVar("T")


class SetDiff(Generic[T]):
    """What changed from one set to another: added, removed and updated elements."""

    __slots__ = ("added", "removed", "updated")

    def __init__(
        self,
        added: list[T] | None = None,
        removed: list[T] | None = None,
        updated: list[T] | None = None,
    ) -> None:
        self.added: list[T] = added or []
        self.removed: list[T] = removed or []
        self.updated: list[T] = updated or []

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.updated)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SetDiff):
            return NotImplemented
        return (
            _same_items(self.added, other.added)
            and _same_items(self.removed, other.removed)
            and _same_items(self.updated, other.updated)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SetDiff(added={self.added!r}, removed={self.removed!r}, "
            f"updated={self.updated!r})"
        )


def _same_items(one: list[Any], other: list[Any]) -> bool:
    """Compare two lists as multisets, without requiring hashable items."""
    if len(one) != len(other):
        return False
    rest = list(other)
    for item in one:
        for index, candidate in enumerate(rest):
            if candidate == item:
                del rest[index]
                break
        else:
            return False
    return True


class ValueObjectSet(MutableSet, Generic[T]):
    """A set of immutable value objects, compared and diffed by value."""

    __slots__ = ("data",)

    def __init__(self, items: Iterable[T] = ()) -> None:
        self.data: set[T] = set(items)

    def __contains__(self, item: object) -> bool:
        try:
            return item in self.data
        except TypeError:
            return False

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def add(self, item: T) -> None:
        """Add a value object (no-op when an equal one is present)."""
        self.data.add(item)

    def discard(self, item: T) -> None:
        """Remove a value object if present."""
        self.data.discard(item)

    def diff(self, other: Iterable[T]) -> SetDiff[T]:
        """What changed from ``other`` (the old state) to this set."""
        old = other.data if isinstance(other, ValueObjectSet) else set(other)
        return SetDiff(
            added=[item for item in self.data if item not in old],
            removed=[item for item in old if item not in self.data],
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ValueObjectSet):
            return self.data == other.data
        if isinstance(other, (set, frozenset)):
            return self.data == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.data)!r})"


class EntitySet(MutableSet, Generic[T]):
    """A set of entities keyed by their ``uuid``; an entity is replaced by uuid."""

    __slots__ = ("data",)

    def __init__(self, items: Iterable[T] = ()) -> None:
        self.data: dict[UUID, T] = {item.uuid: item for item in items}  # type: ignore[attr-defined]

    def __contains__(self, item: object) -> bool:
        if isinstance(item, UUID):
            return item in self.data
        uuid = getattr(item, "uuid", None)
        return uuid in self.data and self.data[uuid] == item

    def __iter__(self) -> Iterator[T]:
        return iter(self.data.values())

    def __len__(self) -> int:
        return len(self.data)

    def add(self, item: T) -> None:
        """Add an entity, replacing any stored entity with the same uuid."""
        self.data[item.uuid] = item  # type: ignore[attr-defined]

    def discard(self, item: T | UUID) -> None:
        """Remove an entity (given itself or its uuid) if present."""
        uuid = item if isinstance(item, UUID) else item.uuid  # type: ignore[attr-defined]
        self.data.pop(uuid, None)

    def get(self, uuid: UUID) -> T | None:
        """Return the entity with this uuid, if any."""
        return self.data.get(uuid)

    def diff(self, other: Iterable[T]) -> SetDiff[T]:
        """What changed from ``other`` (the old state) to this set.

        Entities whose uuid is in both but whose values differ are ``updated``.
        """
        old = (
            other.data
            if isinstance(other, EntitySet)
            else {item.uuid: item for item in other}  # type: ignore[attr-defined]
        )
        added, updated = [], []
        for uuid, item in self.data.items():
            previous = old.get(uuid)
            if previous is None:
                added.append(item)
            elif previous != item:
                updated.append(item)
        removed = [item for uuid, item in old.items() if uuid not in self.data]
        return SetDiff(added=added, removed=removed, updated=updated)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EntitySet):
            return self.data == other.data
        if isinstance(other, (set, frozenset)):
            return len(other) == len(self.data) and all(item in self for item in other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.data.values())!r})"
