"""Conditions that select aggregates in snapshot queries.

``Condition.EQUAL("address.city", "Madrid")`` and friends build a small tree;
every snapshot backend evaluates the same tree: in memory with ``evaluate``,
on SQL databases compiled to bound parameters. Field names are validated when
a condition is built, so a hostile field name never reaches a database.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from .documents import document_value, field_path, scalar_kind
from .exceptions import MinosSnapshotQueryException

__all__ = ["Condition"]


def lookup(document: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path`` inside a JSON document, ``None`` if absent."""
    for segment in path:
        if not isinstance(document, dict):
            return None
        document = document.get(segment)
    return document


def as_decimal(value: Any) -> Decimal | None:
    """A document value read as a decimal number: JSON numbers and the strings
    decimals are stored as; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = repr(value)
    if not isinstance(value, str) or not _DECIMAL_TEXT.match(value):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


#: Decimal text as stored in documents; the same expression filters SQL casts.
DECIMAL_PATTERN = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,4})?$"
_DECIMAL_TEXT = re.compile(DECIMAL_PATTERN)


#: The deepest nesting of AND/OR/NOT a condition may have.
MAX_DEPTH = 64

_INT64 = (-(2**63), 2**63 - 1)


def check_text(what: str, text: str) -> str:
    """Refuse text no database stores: NUL characters and lone surrogates."""
    if "\x00" in text:
        raise MinosSnapshotQueryException(
            f"{what}: {text!r} holds a NUL character, which no database stores"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise MinosSnapshotQueryException(
            f"{what}: {text!r} holds a lone surrogate, which is not valid Unicode"
        ) from None
    return text


def _scalar(field: str, value: Any, operator: str) -> Any:
    what = f"Condition.{operator} on {field!r}"
    if isinstance(value, float) and not math.isfinite(value):
        raise MinosSnapshotQueryException(
            f"{what}: {value!r} cannot be compared; use a finite number"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT64[0] <= value <= _INT64[1]:
            raise MinosSnapshotQueryException(
                f"{what}: {value} is out of the 64-bit integer range; use a "
                f"Decimal for larger numbers"
            )
    if isinstance(value, Decimal):
        if not value.is_finite() or not _DECIMAL_TEXT.match(str(value)):
            raise MinosSnapshotQueryException(
                f"Condition.{operator} on {field!r}: {value!r} cannot be compared; "
                f"use a finite Decimal with an exponent of at most 4 digits"
            )
        return value
    converted = document_value(value)
    if isinstance(converted, str):
        check_text(what, converted)
    if scalar_kind(converted) == "other":
        raise MinosSnapshotQueryException(
            f"Condition.{operator} on {field!r}: {value!r} cannot be compared; use "
            f"None, a bool, a number, a string, a UUID, a date or an enum"
        )
    return converted


class Condition(ABC):
    """A predicate on the JSON document of an aggregate."""

    TRUE: ClassVar[Condition]
    FALSE: ClassVar[Condition]

    #: How many AND/OR/NOT levels the condition has (bounded by ``MAX_DEPTH``).
    depth: int = 0

    @abstractmethod
    def evaluate(self, document: Any) -> bool:
        """Whether a document (``dict`` of JSON values) satisfies the condition."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and vars(self) == vars(other)

    def __hash__(self) -> int:
        return hash((type(self), repr(self)))

    # --- builders -----------------------------------------------------------------

    @staticmethod
    def AND(*conditions: Condition) -> Condition:
        """True when every condition is (``TRUE`` when none is given)."""
        return AndCondition(conditions)

    @staticmethod
    def OR(*conditions: Condition) -> Condition:
        """True when any condition is (``FALSE`` when none is given)."""
        return OrCondition(conditions)

    @staticmethod
    def NOT(condition: Condition) -> Condition:
        """True when ``condition`` is not."""
        return NotCondition(condition)

    @staticmethod
    def EQUAL(field: str, value: Any) -> Condition:
        """``field == value``; ``EQUAL(field, None)`` matches null or absent fields."""
        return ComparisonCondition(field, "EQUAL", value)

    @staticmethod
    def NOT_EQUAL(field: str, value: Any) -> Condition:
        """``field != value`` (the negation of ``EQUAL``)."""
        return NotCondition(ComparisonCondition(field, "EQUAL", value))

    @staticmethod
    def LOWER(field: str, value: Any) -> Condition:
        """``field < value`` (numbers with numbers, strings with strings)."""
        return ComparisonCondition(field, "LOWER", value)

    @staticmethod
    def LOWER_EQUAL(field: str, value: Any) -> Condition:
        """``field <= value``."""
        return ComparisonCondition(field, "LOWER_EQUAL", value)

    @staticmethod
    def GREATER(field: str, value: Any) -> Condition:
        """``field > value``."""
        return ComparisonCondition(field, "GREATER", value)

    @staticmethod
    def GREATER_EQUAL(field: str, value: Any) -> Condition:
        """``field >= value``."""
        return ComparisonCondition(field, "GREATER_EQUAL", value)

    @staticmethod
    def IN(field: str, values: Iterable[Any]) -> Condition:
        """``field`` equals one of ``values``."""
        return InCondition(field, values)

    @staticmethod
    def LIKE(field: str, pattern: str) -> Condition:
        """SQL ``LIKE`` on a string field: ``%`` any run, ``_`` one character."""
        return LikeCondition(field, pattern)


class ConstantCondition(Condition):
    """Always true or always false."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def evaluate(self, document: Any) -> bool:
        return self.value

    def __repr__(self) -> str:
        return f"Condition.{'TRUE' if self.value else 'FALSE'}"


Condition.TRUE = ConstantCondition(True)
Condition.FALSE = ConstantCondition(False)


class _Composed(Condition):
    word: ClassVar[str]

    def __init__(self, conditions: Iterable[Condition]) -> None:
        parts = tuple(conditions)
        for part in parts:
            if not isinstance(part, Condition):
                raise MinosSnapshotQueryException(
                    f"Condition.{self.word} takes conditions, not {part!r}"
                )
        self.parts = parts
        self.depth = 1 + max((part.depth for part in parts), default=0)
        _check_depth(self)

    def __repr__(self) -> str:
        return f"Condition.{self.word}({', '.join(map(repr, self.parts))})"


def _check_depth(condition: Condition) -> None:
    if condition.depth > MAX_DEPTH:
        raise MinosSnapshotQueryException(
            f"A condition may nest AND, OR and NOT at most {MAX_DEPTH} levels deep, "
            f"not {condition.depth}; flatten it (AND and OR take many parts)"
        )


class AndCondition(_Composed):
    """Every part holds."""

    word = "AND"

    def evaluate(self, document: Any) -> bool:
        return all(part.evaluate(document) for part in self.parts)


class OrCondition(_Composed):
    """At least one part holds."""

    word = "OR"

    def evaluate(self, document: Any) -> bool:
        return any(part.evaluate(document) for part in self.parts)


class NotCondition(Condition):
    """The inner condition does not hold."""

    def __init__(self, inner: Condition) -> None:
        if not isinstance(inner, Condition):
            raise MinosSnapshotQueryException(
                f"Condition.NOT takes a condition, not {inner!r}"
            )
        self.inner = inner
        self.depth = inner.depth + 1
        _check_depth(self)

    def evaluate(self, document: Any) -> bool:
        return not self.inner.evaluate(document)

    def __repr__(self) -> str:
        return f"Condition.NOT({self.inner!r})"


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQUAL": lambda a, b: a == b,
    "LOWER": lambda a, b: a < b,
    "LOWER_EQUAL": lambda a, b: a <= b,
    "GREATER": lambda a, b: a > b,
    "GREATER_EQUAL": lambda a, b: a >= b,
}


class ComparisonCondition(Condition):
    """``field <operator> value`` between values of the same JSON kind."""

    def __init__(self, field: str, operator: str, value: Any) -> None:
        self.field = field
        self.path = field_path(field)
        self.operator = operator
        self.value = _scalar(field, value, operator)
        # Decimals compare as numbers with JSON numbers and decimal strings.
        self.kind = (
            "decimal" if isinstance(self.value, Decimal) else scalar_kind(self.value)
        )

    def evaluate(self, document: Any) -> bool:
        found = lookup(document, self.path)
        if self.kind == "null":
            return self.operator == "EQUAL" and found is None
        if self.kind == "decimal":
            number = as_decimal(found)
            return number is not None and _COMPARE[self.operator](number, self.value)
        if scalar_kind(found) != self.kind:
            return False
        return _COMPARE[self.operator](found, self.value)

    def __repr__(self) -> str:
        return f"Condition.{self.operator}({self.field!r}, {self.value!r})"


def with_decimal_fields(
    condition: Condition, is_decimal: Callable[[tuple[str, ...]], bool]
) -> Condition:
    """``condition`` with numbers compared as decimals on the fields
    ``is_decimal`` names (decimal fields are stored as exact strings)."""
    if isinstance(condition, ComparisonCondition):
        if condition.kind == "number" and is_decimal(condition.path):
            value = Decimal(repr(condition.value))
            return ComparisonCondition(condition.field, condition.operator, value)
        return condition
    if isinstance(condition, InCondition):
        if is_decimal(condition.path):
            values = [
                Decimal(repr(v)) if scalar_kind(v) == "number" else v
                for v in condition.values
            ]
            return InCondition(condition.field, values)
        return condition
    if isinstance(condition, NotCondition):
        return NotCondition(with_decimal_fields(condition.inner, is_decimal))
    if isinstance(condition, _Composed):
        parts = [with_decimal_fields(part, is_decimal) for part in condition.parts]
        return type(condition)(parts)
    return condition


_SET_KINDS = frozenset({"string", "number"})


class InCondition(Condition):
    """``field`` equals one of the values."""

    def __init__(self, field: str, values: Iterable[Any]) -> None:
        self.field = field
        self.path = field_path(field)
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise MinosSnapshotQueryException(
                f"Condition.IN on {field!r} takes a collection of values, "
                f"not {values!r}"
            )
        self.values = tuple(_scalar(field, value, "IN") for value in values)
        self._options = [
            ComparisonCondition(self.field, "EQUAL", v) for v in self.values
        ]
        # Strings and numbers are looked up in a set; the rest compared one by one.
        self._plain = {(o.kind, o.value) for o in self._options if o.kind in _SET_KINDS}
        self._others = [o for o in self._options if o.kind not in _SET_KINDS]

    def options(self) -> list[ComparisonCondition]:
        """The condition as one ``EQUAL`` per value."""
        return list(self._options)

    def evaluate(self, document: Any) -> bool:
        found = lookup(document, self.path)
        kind = scalar_kind(found)
        if kind in _SET_KINDS and (kind, found) in self._plain:
            return True
        return any(option.evaluate(document) for option in self._others)

    def __repr__(self) -> str:
        return f"Condition.IN({self.field!r}, {list(self.values)!r})"


class LikeCondition(Condition):
    """A string field matches a ``LIKE`` pattern (case-sensitive, no escapes)."""

    def __init__(self, field: str, pattern: str) -> None:
        self.field = field
        self.path = field_path(field)
        if not isinstance(pattern, str):
            raise MinosSnapshotQueryException(
                f"Condition.LIKE on {field!r} takes a string pattern, not {pattern!r}"
            )
        check_text(f"Condition.LIKE on {field!r}", pattern)
        self.pattern = pattern
        self._regex = re.compile(
            "".join(
                ".*" if char == "%" else "." if char == "_" else re.escape(char)
                for char in pattern
            ),
            re.DOTALL,
        )

    def evaluate(self, document: Any) -> bool:
        found = lookup(document, self.path)
        return isinstance(found, str) and self._regex.fullmatch(found) is not None

    def glob(self) -> str:
        """The pattern in SQLite ``GLOB`` syntax (case-sensitive)."""
        escaped = {"*": "[*]", "?": "[?]", "[": "[[]", "]": "[]]"}
        return "".join(
            "*" if char == "%" else "?" if char == "_" else escaped.get(char, char)
            for char in self.pattern
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LikeCondition) and (self.field, self.pattern) == (
            other.field,
            other.pattern,
        )

    def __hash__(self) -> int:
        return hash((self.field, self.pattern))

    def __repr__(self) -> str:
        return f"Condition.LIKE({self.field!r}, {self.pattern!r})"
