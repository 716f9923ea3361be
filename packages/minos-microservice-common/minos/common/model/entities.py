"""Domain building blocks: value objects, entities and references to aggregates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

from .declarative import DeclarativeModel
from .exceptions import MinosImmutableAttributeException
from .fields import field

__all__ = ["ValueObject", "Entity", "AggregateRef"]


class ValueObject(DeclarativeModel):
    """An immutable model compared and hashed by value (an address, a money amount)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        raise MinosImmutableAttributeException(
            f"{type(self).__name__}.{name}: value objects are immutable; build a new "
            "one instead",
            model=type(self).__name__,
            field=name,
        )

    def __delattr__(self, name: str) -> None:
        raise MinosImmutableAttributeException(
            f"{type(self).__name__}.{name}: value objects are immutable",
            model=type(self).__name__,
            field=name,
        )

    def __hash__(self) -> int:
        d = self.__dict__
        return hash(
            (
                type(self).__name__,
                tuple(_frozen(d[name]) for name in self._field_hints()),
            )
        )


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a field value (lists -> tuples, dicts -> items)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return frozenset((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, set):
        return frozenset(value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


class Entity(DeclarativeModel):
    """A model with identity: ``uuid`` (keyword-only, generated when not given)."""

    uuid: UUID = field(default_factory=uuid4, kw_only=True)

    #: An entity read from bytes keeps its identity: no uuid in them is an error.
    _required_on_decode = frozenset({"uuid"})


class AggregateRef(Entity):
    """Another service's aggregate seen locally: its ``uuid``, ``version`` and the
    fields this service declares. Fields it does not declare are ignored."""

    version: int = field(default=1, kw_only=True)

    @classmethod
    def _from_json_mapping(cls, data: Mapping[str, Any]) -> Any:
        meta = cls._model_meta or cls._compile_meta()
        return super()._from_json_mapping(
            {k: v for k, v in data.items() if k in meta.by_name}
        )
