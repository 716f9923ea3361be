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
    DECIMAL_PATTERN,
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
    if ordering.numeric:
        number, params = _decimal_expression(ordering.path, dialect)
        if dialect == "postgresql":
            is_null = (
                "(COALESCE(jsonb_typeof(data #> CAST(%s AS TEXT[])), 'null') = 'null')"
            )
            null_param: Any = list(ordering.path)
        else:
            is_null = "(COALESCE(json_type(data, %s), 'null') = 'null')"
            null_param = _sqlite_path(ordering.path)
        rank = f"CASE WHEN {is_null} THEN 0 WHEN {number} IS NOT NULL THEN 1 ELSE 3 END"
        sql = f"{rank} {direction}, {number} {direction}"
        return sql, [null_param, *params, *params]
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


def _decimal_expression(path: tuple[str, ...], dialect: str) -> tuple[str, list[Any]]:
    """A field read as a number: JSON numbers and decimal strings (else NULL).

    Exact (NUMERIC) on PostgreSQL; on SQLite a double, so decimals with more
    than 15 significant digits compare approximately there.
    """
    if dialect == "postgresql":
        value = "(data #> CAST(%s AS TEXT[]))"
        text = "(data #>> CAST(%s AS TEXT[]))"
        p = list(path)
        sql = (
            f"(CASE jsonb_typeof({value}) WHEN 'number' THEN CAST({text} AS NUMERIC) "
            f"WHEN 'string' THEN CASE WHEN {text} ~ %s THEN CAST({text} AS NUMERIC) "
            "END END)"
        )
        return sql, [p, p, p, DECIMAL_PATTERN, p]
    p = _sqlite_path(path)
    sql = (
        "(CASE json_type(data, %s) WHEN 'integer' THEN json_extract(data, %s) "
        "WHEN 'real' THEN json_extract(data, %s) "
        "WHEN 'text' THEN CASE WHEN json_extract(data, %s) GLOB '*[0-9]*' "
        "AND json_extract(data, %s) NOT GLOB '*[^0-9.eE+-]*' "
        "THEN CAST(json_extract(data, %s) AS REAL) END END)"
    )
    return sql, [p] * 6


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
        return _in(condition, params, leaf)
    return None


def _in(condition: InCondition, params: list[Any], leaf: Any) -> str:
    """``IN`` as one array parameter per kind of value (any number of values);
    booleans and ``None`` stay ``EQUAL`` tests."""
    groups: dict[str, list[Any]] = {"string": [], "number": [], "decimal": []}
    parts: list[str] = []
    for option in condition.options():
        if option.kind in groups:
            groups[option.kind].append(option.value)
        else:
            parts.append(leaf(option, params))
    postgresql = leaf is _postgresql
    for kind, values in groups.items():
        if values:
            compile_group = _pg_in if postgresql else _sqlite_in
            parts.append(compile_group(condition.path, kind, values, params))
    if not parts:
        return _FALSE
    return "(" + " OR ".join(parts) + ")"


def _pg_in(
    path: tuple[str, ...], kind: str, values: list[Any], params: list[Any]
) -> str:
    value = "(data #> CAST(%s AS TEXT[]))"
    text = "(data #>> CAST(%s AS TEXT[]))"
    p = list(path)
    if kind == "string":
        params += [p, p, values]
        return (
            f"COALESCE(jsonb_typeof({value}) = 'string' "
            f"AND {text} = ANY(CAST(%s AS TEXT[])), FALSE)"
        )
    if kind == "number":
        params += [p, p, [repr(v) for v in values]]
        return (
            f"COALESCE(jsonb_typeof({value}) = 'number' "
            f"AND CAST({text} AS NUMERIC) = ANY(CAST(%s AS NUMERIC[])), FALSE)"
        )
    number, extra = _decimal_expression(path, "postgresql")
    params += [*extra, [str(v) for v in values]]
    return f"COALESCE({number} = ANY(CAST(%s AS NUMERIC[])), FALSE)"


def _sqlite_in(
    path: tuple[str, ...], kind: str, values: list[Any], params: list[Any]
) -> str:
    p = _sqlite_path(path)
    if kind == "decimal":
        number, extra = _decimal_expression(path, "sqlite")
        params += [*extra, orjson.dumps([str(v) for v in values]).decode()]
        return (
            f"COALESCE({number} IN (SELECT CAST(value AS REAL) FROM json_each(%s)), 0)"
        )
    params += [p, p, orjson.dumps(values).decode()]
    return (
        f"COALESCE(json_type(data, %s) IN {_SQLITE_KINDS[kind]} "
        "AND json_extract(data, %s) IN (SELECT value FROM json_each(%s)), 0)"
    )


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
        if condition.kind == "decimal":
            number, extra = _decimal_expression(condition.path, "postgresql")
            params += [*extra, str(condition.value)]
            return f"COALESCE({number} {operator} CAST(%s AS NUMERIC), FALSE)"
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
        if condition.kind == "decimal":
            number, extra = _decimal_expression(condition.path, "sqlite")
            params += [*extra, str(condition.value)]
            return f"COALESCE({number} {operator} CAST(%s AS REAL), 0)"
        kinds = _SQLITE_KINDS[condition.kind]
        params += [path, path, condition.value]
        return (
            f"COALESCE(json_type(data, %s) IN {kinds} "
            f"AND json_extract(data, %s) {operator} %s, 0)"
        )
    raise MinosSnapshotQueryException(f"Unsupported condition {condition!r}")
