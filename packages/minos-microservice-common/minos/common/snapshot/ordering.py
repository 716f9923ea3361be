"""The order of snapshot query results."""

from __future__ import annotations

from typing import Any

from .conditions import as_decimal, lookup
from .documents import field_path, scalar_kind

__all__ = ["Ordering"]

_KIND_RANK = {"null": 0, "boolean": 1, "number": 1, "string": 2, "other": 3}


class Ordering:
    """Sort by one field, ascending (nulls first) or descending (nulls last)."""

    #: Whether values sort as decimal numbers (set for ``Decimal`` fields,
    #: which documents hold as exact strings).
    numeric: bool = False

    def __init__(self, field: str, reverse: bool = False) -> None:
        self.field = field
        self.path = field_path(field)
        self.reverse = bool(reverse)

    def as_numeric(self) -> Ordering:
        """The same ordering, sorting decimal strings and numbers by value."""
        numeric = Ordering(self.field, self.reverse)
        numeric.numeric = True
        return numeric

    @classmethod
    def ASC(cls, field: str) -> Ordering:
        """Ascending by ``field``."""
        return cls(field, False)

    @classmethod
    def DESC(cls, field: str) -> Ordering:
        """Descending by ``field``."""
        return cls(field, True)

    def key(self, document: Any) -> tuple[int, Any]:
        """A sort key for a JSON document (nulls, then numbers, then strings)."""
        value = lookup(document, self.path)
        if self.numeric:
            number = as_decimal(value)
            if number is not None:
                return 1, number
            return (0, 0) if value is None else (3, repr(value))
        kind = scalar_kind(value)
        if kind == "other":
            value = repr(value)
        if kind == "null":
            value = 0
        return _KIND_RANK[kind], value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ordering) and (self.field, self.reverse) == (
            other.field,
            other.reverse,
        )

    def __hash__(self) -> int:
        return hash((self.field, self.reverse))

    def __repr__(self) -> str:
        return f"Ordering.{'DESC' if self.reverse else 'ASC'}({self.field!r})"
