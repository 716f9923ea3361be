"""Compiling conditions and orderings to SQL over a JSON ``data`` column.

Every value and every field path is a bound parameter; the SQL text only
holds constants of this module. Field names were validated when the
condition was built. Leaves are wrapped in ``COALESCE(..., FALSE)`` so ``NOT``
behaves like it does in memory (two-valued logic), and comparisons only match
values of the same JSON kind, as ``Condition.evaluate`` does.
"""

from __future__ import annotations

from typing import Any

import orjson

from .conditions import (
    AndCondition,
    ComparisonCondition,
    Condition,
    ConstantCondition,
    InCondition,
    LikeCondition,
    NotCondition,
    OrCondition,
)
from .exceptions import MinosSnapshotQueryException
from .ordering import Ordering

__all__ = ["compile_condition", "compile_ordering"]

_OPERATORS = {
    "EQUAL": "=",
    "LOWER": "<",
    "LOWER_EQUAL": "<=",
    "GREATER": ">",
    "GREATER_EQUAL": ">=",
}

_TRUE, _FALSE = "(1 = 1)", "(1 = 0)"


def compile_condition(condition: Condition, dialect: str) -> tuple[str, list[Any]]:
    """The SQL of ``condition`` on the ``data`` column, and its parameters."""
    params: list[Any] = []
    compiler = _postgresql if dialect == "postgresql" else _sqlite
    return compiler(condition, params), params


def compile_ordering(ordering: Ordering, dialect: str) -> tuple[str, list[Any]]:
    """The ``ORDER BY`` expressions of ``ordering`` (without the keywords)."""
    direction = "DESC" if ordering.reverse else "ASC"
    if dialect == "postgresql":
        path = list(ordering.path)
        value = "(data #> CAST(%s AS TEXT[]))"
        text = "(data #>> CAST(%s AS TEXT[]))"
        rank = (
            f"CASE COALESCE(jsonb_typeof({value}), 'null') WHEN 'null' THEN 0 "
            "WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'string' THEN 2 "
            "ELSE 3 END"
        )
        number = (
            f"CASE jsonb_typeof({value}) WHEN 'number' THEN CAST({text} AS NUMERIC) "
            f"WHEN 'boolean' THEN CASE WHEN {text} = 'true' THEN 1 ELSE 0 END END"
        )
        string = f'{text} COLLATE "C"'
        sql = f"{rank} {direction}, {number} {direction}, {string} {direction}"
        return sql, [path] * 5
    path = _sqlite_path(ordering.path)
    rank = (
        "CASE COALESCE(json_type(data, %s), 'null') WHEN 'null' THEN 0 "
        "WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'true' THEN 1 "
        "WHEN 'false' THEN 1 WHEN 'text' THEN 2 ELSE 3 END"
    )
    sql = f"{rank} {direction}, json_extract(data, %s) {direction}"
    return sql, [path, path]


def _sqlite_path(path: tuple[str, ...]) -> str:
    return "$." + ".".join(path)


def _composite(condition: Condition, params: list[Any], leaf: Any) -> str | None:
    if isinstance(condition, ConstantCondition):
        return _TRUE if condition.value else _FALSE
    if isinstance(condition, AndCondition):
        if not condition.parts:
            return _TRUE
        return "(" + " AND ".join(leaf(p, params) for p in condition.parts) + ")"
    if isinstance(condition, OrCondition):
        if not condition.parts:
            return _FALSE
        return "(" + " OR ".join(leaf(p, params) for p in condition.parts) + ")"
    if isinstance(condition, NotCondition):
        return f"(NOT {leaf(condition.inner, params)})"
    if isinstance(condition, InCondition):
        options = condition.options()
        if not options:
            return _FALSE
        return "(" + " OR ".join(leaf(o, params) for o in options) + ")"
    return None


def _postgresql(condition: Condition, params: list[Any]) -> str:
    composed = _composite(condition, params, _postgresql)
    if composed is not None:
        return composed
    value = "(data #> CAST(%s AS TEXT[]))"
    text = "(data #>> CAST(%s AS TEXT[]))"
    if isinstance(condition, LikeCondition):
        path = list(condition.path)
        params += [path, path, condition.pattern]
        return (
            f"COALESCE(jsonb_typeof({value}) = 'string' "
            f"AND {text} LIKE %s ESCAPE '', FALSE)"
        )
    if isinstance(condition, ComparisonCondition):
        path = list(condition.path)
        operator = _OPERATORS[condition.operator]
        if condition.kind == "null":
            if condition.operator != "EQUAL":
                return _FALSE
            params.append(path)
            return f"(COALESCE(jsonb_typeof({value}), 'null') = 'null')"
        if condition.kind == "string":
            params += [path, path, condition.value]
            return (
                f"COALESCE(jsonb_typeof({value}) = 'string' "
                f'AND {text} COLLATE "C" {operator} %s, FALSE)'
            )
        params += [path, path, orjson.dumps(condition.value).decode()]
        return (
            f"COALESCE(jsonb_typeof({value}) = '{condition.kind}' "
            f"AND {value} {operator} CAST(%s AS JSONB), FALSE)"
        )
    raise MinosSnapshotQueryException(f"Unsupported condition {condition!r}")


_SQLITE_KINDS = {
    "number": "('integer', 'real')",
    "string": "('text')",
    "boolean": "('true', 'false')",
}


def _sqlite(condition: Condition, params: list[Any]) -> str:
    composed = _composite(condition, params, _sqlite)
    if composed is not None:
        return composed
    if isinstance(condition, LikeCondition):
        path = _sqlite_path(condition.path)
        params += [path, path, condition.glob()]
        return (
            "COALESCE(json_type(data, %s) = 'text' "
            "AND json_extract(data, %s) GLOB %s, 0)"
        )
    if isinstance(condition, ComparisonCondition):
        path = _sqlite_path(condition.path)
        operator = _OPERATORS[condition.operator]
        if condition.kind == "null":
            if condition.operator != "EQUAL":
                return _FALSE
            params.append(path)
            return "(COALESCE(json_type(data, %s), 'null') = 'null')"
        kinds = _SQLITE_KINDS[condition.kind]
        params += [path, path, condition.value]
        return (
            f"COALESCE(json_type(data, %s) IN {kinds} "
            f"AND json_extract(data, %s) {operator} %s, 0)"
        )
    raise MinosSnapshotQueryException(f"Unsupported condition {condition!r}")
