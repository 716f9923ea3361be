"""Field declarations (``field(...)``) and the ``Field`` view of a model's values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .types import MISSING, type_repr

__all__ = ["Field", "field"]


class FieldOptions:
    """What ``field(...)`` declares about a field: its default and how it is given."""

    __slots__ = ("default", "default_factory", "kw_only")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Callable[[], Any] | None = None,
        kw_only: bool = False,
    ) -> None:
        if default is not MISSING and default_factory is not None:
            raise ValueError("give either a default or a default_factory, not both")
        self.default = default
        self.default_factory = default_factory
        self.kw_only = kw_only


def field(
    default: Any = MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    kw_only: bool = False,
) -> Any:
    """Declare a field's default, default factory, or that it is keyword-only.

    Keyword-only fields are skipped when mapping positional arguments, so base
    classes can add fields (``uuid``, ``version``...) without shifting the
    positions of the fields their subclasses declare.
    """
    return FieldOptions(default, default_factory, kw_only)


class Field:
    """A model field seen from outside: its name, declared type and current value."""

    __slots__ = ("name", "type", "value")

    def __init__(self, name: str, type: Any, value: Any) -> None:
        self.name = name
        self.type = type
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Field):
            return NotImplemented
        return (
            self.name == other.name
            and self.type == other.type
            and self.value == other.value
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = type_repr(self.type)
        return f"Field(name={self.name!r}, type={kind}, value={self.value!r})"
