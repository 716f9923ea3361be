"""What the event store holds: one entry per stored change of an aggregate."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

__all__ = ["Action", "RepositoryEntry"]


class Action(StrEnum):
    """The kind of change an event records."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    @property
    def is_create(self) -> bool:
        return self is Action.CREATE

    @property
    def is_update(self) -> bool:
        return self is Action.UPDATE

    @property
    def is_delete(self) -> bool:
        return self is Action.DELETE

    @classmethod
    def value_of(cls, value: Any) -> Action:
        """Read an action from its name or value (``"create"``, ``"CREATE"``...)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.lower())
            except ValueError:
                pass
        names = ", ".join(repr(action.value) for action in cls)
        raise ValueError(f"unknown aggregate action {value!r}; expected one of {names}")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class RepositoryEntry:
    """One stored change: which aggregate, which version, and the encoded diff.

    ``data`` is opaque to the repository (the Avro bytes of the diff's fields);
    ``id`` orders every entry of the store and is set when the entry is stored.
    A ``version`` of ``None`` asks the repository for the next one.
    """

    aggregate_uuid: UUID
    aggregate_name: str
    version: int | None
    data: bytes
    action: Action
    created_at: datetime | None = None
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.aggregate_uuid, UUID):
            raise TypeError(
                f"RepositoryEntry.aggregate_uuid must be a UUID, "
                f"not {self.aggregate_uuid!r}"
            )
        if not isinstance(self.aggregate_name, str) or not self.aggregate_name:
            raise TypeError(
                f"RepositoryEntry.aggregate_name must be a non-empty string, "
                f"not {self.aggregate_name!r}"
            )
        if self.version is not None and (
            isinstance(self.version, bool)
            or not isinstance(self.version, int)
            or self.version < 1
        ):
            raise TypeError(
                f"RepositoryEntry.version must be a positive int or None, "
                f"not {self.version!r}"
            )
        if not isinstance(self.data, bytes):
            raise TypeError(
                f"RepositoryEntry.data must be bytes, not {type(self.data).__name__}"
            )
        object.__setattr__(self, "action", Action.value_of(self.action))

    def stored(self, id: int, version: int, created_at: datetime) -> RepositoryEntry:
        """The same entry as the repository stored it."""
        return replace(self, id=id, version=version, created_at=created_at)
