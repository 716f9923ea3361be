"""Conditions and orderings agree in memory, on SQLite and on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from uuid import UUID

import orjson
import pytest

from minos.common import (
    Condition,
    MinosSnapshotQueryException,
    Ordering,
    close_database_pools,
    database_pool,
)
from minos.common.snapshot.documents import document_value
from minos.common.snapshot.queries import compile_condition, compile_ordering

U1 = UUID("00000000-0000-4000-8000-000000000001")
U2 = UUID("00000000-0000-4000-8000-000000000002")


class Color(Enum):
    RED = "red"
    BLUE = "blue"


DOCUMENTS = {
    "ana": {
        "name": "ana",
        "age": 31,
        "score": 7.5,
        "active": True,
        "owner": str(U1),
        "color": "red",
        "since": "2021-01-01T00:00:00+00:00",
        "address": {"city": "Madrid", "zip": "28001", "floor": 3},
        "note": "it's 100% 'quoted'; -- not a comment",
    },
    "bob": {
        "name": "bob",
        "age": 25,
        "score": 9.0,
        "active": False,
        "owner": str(U2),
        "color": "blue",
        "since": "2023-06-15T12:00:00+00:00",
        "address": {"city": "Bilbao", "zip": "48001", "floor": None},
        "note": None,
    },
    "cid": {
        "name": "cid",
        "age": 40,
        "score": 7,
        "active": True,
        "owner": str(U1),
        "color": "red",
        "since": "2019-03-10T08:30:00+00:00",
        "address": {"city": "madrid", "zip": "28080"},
        "note": "under_score * and ? and [x]",
    },
    "dee": {
        "name": "dee",
        "age": "forty",
        "active": None,
        "owner": str(U2),
        "address": None,
    },
}

CASES = [
    (Condition.TRUE, {"ana", "bob", "cid", "dee"}),
    (Condition.FALSE, set()),
    (Condition.AND(), {"ana", "bob", "cid", "dee"}),
    (Condition.OR(), set()),
    (Condition.EQUAL("name", "ana"), {"ana"}),
    (Condition.EQUAL("age", 25), {"bob"}),
    (Condition.EQUAL("score", 7), {"cid"}),
    (Condition.EQUAL("score", 7.0), {"cid"}),
    (Condition.EQUAL("active", True), {"ana", "cid"}),
    (Condition.EQUAL("active", 1), set()),
    (Condition.EQUAL("active", None), {"dee"}),
    (Condition.EQUAL("note", None), {"bob", "dee"}),
    (Condition.EQUAL("owner", U1), {"ana", "cid"}),
    (Condition.EQUAL("color", Color.BLUE), {"bob"}),
    (Condition.EQUAL("address.city", "Madrid"), {"ana"}),
    (Condition.EQUAL("address.floor", None), {"bob", "cid", "dee"}),
    (Condition.EQUAL("missing.deeply.nested", None), {"ana", "bob", "cid", "dee"}),
    (Condition.NOT_EQUAL("address.city", "Madrid"), {"bob", "cid", "dee"}),
    (Condition.NOT_EQUAL("note", None), {"ana", "cid"}),
    (Condition.LOWER("age", 31), {"bob"}),
    (Condition.LOWER_EQUAL("age", 31), {"ana", "bob"}),
    (Condition.GREATER("age", 31), {"cid"}),
    (Condition.GREATER_EQUAL("age", 31), {"ana", "cid"}),
    (Condition.GREATER("age", "a"), {"dee"}),
    (Condition.LOWER("score", 8), {"ana", "cid"}),
    (Condition.GREATER("address.floor", 1), {"ana"}),
    (Condition.LOWER("age", None), set()),
    (Condition.GREATER("name", "bob"), {"cid", "dee"}),
    (Condition.LOWER("address.city", "M"), {"bob"}),
    (Condition.GREATER("address.city", "M"), {"ana", "cid"}),
    (
        Condition.GREATER("since", datetime(2020, 1, 1, tzinfo=UTC)),
        {"ana", "bob"},
    ),
    (Condition.IN("name", ["ana", "dee", "zed"]), {"ana", "dee"}),
    (Condition.IN("age", [25, 40, "forty"]), {"bob", "cid", "dee"}),
    (Condition.IN("owner", {U2}), {"bob", "dee"}),
    (Condition.IN("name", []), set()),
    (Condition.LIKE("address.city", "Ma%"), {"ana"}),
    (Condition.LIKE("address.city", "%adrid"), {"ana", "cid"}),
    (Condition.LIKE("name", "_o_"), {"bob"}),
    (Condition.LIKE("note", "%100\\%%"), set()),
    (Condition.LIKE("note", "%100%"), {"ana"}),
    (Condition.LIKE("note", "%* and ? and [x]"), {"cid"}),
    (Condition.LIKE("note", "under_score%"), {"cid"}),
    (Condition.LIKE("age", "%"), {"dee"}),
    (Condition.NOT(Condition.EQUAL("active", True)), {"bob", "dee"}),
    (Condition.NOT(Condition.GREATER("age", 30)), {"bob", "dee"}),
    (
        Condition.AND(
            Condition.EQUAL("owner", U1), Condition.GREATER_EQUAL("score", 7.5)
        ),
        {"ana"},
    ),
    (
        Condition.OR(Condition.EQUAL("name", "bob"), Condition.LOWER("age", 26)),
        {"bob"},
    ),
    (
        Condition.OR(
            Condition.AND(Condition.EQUAL("color", "red"), Condition.LOWER("age", 35)),
            Condition.NOT(Condition.OR(Condition.TRUE, Condition.FALSE)),
            Condition.EQUAL("address", None),
        ),
        {"ana", "dee"},
    ),
    # Hostile values are data, never SQL.
    (Condition.EQUAL("note", "it's 100% 'quoted'; -- not a comment"), {"ana"}),
    (Condition.EQUAL("name", "x' OR '1'='1"), set()),
    (Condition.EQUAL("name", "'; DROP TABLE docs; --"), set()),
    (Condition.LIKE("name", "%' OR 1=1 --"), set()),
    (Condition.IN("name", ["a'); DELETE FROM docs; --", 'b" OR 1=1']), set()),
]

ORDERINGS = [
    (Ordering.ASC("age"), ["bob", "ana", "cid", "dee"]),
    (Ordering.DESC("age"), ["dee", "cid", "ana", "bob"]),
    (Ordering.ASC("name"), ["ana", "bob", "cid", "dee"]),
    (Ordering.DESC("name"), ["dee", "cid", "bob", "ana"]),
    (Ordering.ASC("address.city"), ["dee", "bob", "ana", "cid"]),
    (Ordering.DESC("address.city"), ["cid", "ana", "bob", "dee"]),
    (Ordering.ASC("score"), ["dee", "cid", "ana", "bob"]),
    (Ordering.DESC("since"), ["bob", "ana", "cid", "dee"]),
]


def memory_select(condition, ordering=None, limit=None):
    names = sorted(n for n, doc in DOCUMENTS.items() if condition.evaluate(doc))
    if ordering is not None:
        names.sort(key=lambda n: ordering.key(DOCUMENTS[n]), reverse=ordering.reverse)
    return names[:limit] if limit is not None else names


@pytest.fixture(params=["sqlite", "postgresql"])
async def select(request, tmp_path):
    if request.param == "postgresql":
        pool = database_pool(request.getfixturevalue("fresh_postgres_settings"))
        column = "JSONB"
    else:
        pool = database_pool({"path": tmp_path / "docs.sqlite3"})
        column = "TEXT"
    async with pool.connection() as conn:
        await conn.execute(f"CREATE TABLE docs (name TEXT, data {column})")
        await conn.executemany(
            "INSERT INTO docs VALUES (%s, %s)",
            [(n, orjson.dumps(d).decode()) for n, d in DOCUMENTS.items()],
        )

    async def run(condition, ordering=None, limit=None):
        where, params = compile_condition(condition, pool.dialect)
        query = f"SELECT name FROM docs WHERE {where}"
        if ordering is not None:
            order, order_params = compile_ordering(ordering, pool.dialect)
            query += f" ORDER BY {order}, name"
            params += order_params
        else:
            query += " ORDER BY name"
        if limit is not None:
            query += " LIMIT %s"
            params.append(limit)
        async with pool.connection() as conn:
            return [row[0] for row in await conn.fetchall(query, params)]

    yield run
    async with pool.connection() as conn:
        assert (await conn.fetchone("SELECT COUNT(*) FROM docs"))[0] == 4
    await close_database_pools()


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=repr)
def test_condition_in_memory(condition, expected):
    assert set(memory_select(condition)) == expected


async def test_condition_on_database(select):
    for condition, expected in CASES:
        assert set(await select(condition)) == expected, condition


@pytest.mark.parametrize(("ordering", "expected"), ORDERINGS, ids=repr)
def test_ordering_in_memory(ordering, expected):
    assert memory_select(Condition.TRUE, ordering) == expected


async def test_ordering_and_limit_on_database(select):
    for ordering, expected in ORDERINGS:
        assert await select(Condition.TRUE, ordering) == expected, ordering
        assert await select(Condition.TRUE, ordering, limit=2) == expected[:2]
    assert await select(Condition.EQUAL("color", "red"), Ordering.DESC("age")) == [
        "cid",
        "ana",
    ]
    assert await select(Condition.TRUE, limit=0) == []


@pytest.mark.parametrize(
    "field",
    [
        "name'; DROP TABLE docs; --",
        "a.b'c",
        'x")',
        "a..b",
        ".a",
        "a.",
        "1abc",
        "address.ci ty",
        "$.name",
        "a[0]",
        "",
        None,
        42,
    ],
)
def test_hostile_field_names_are_rejected(field):
    with pytest.raises(MinosSnapshotQueryException, match="field name"):
        Condition.EQUAL(field, 1)
    with pytest.raises(MinosSnapshotQueryException, match="field name"):
        Condition.LIKE(field, "%")
    with pytest.raises(MinosSnapshotQueryException, match="field name"):
        Condition.IN(field, [1])
    with pytest.raises(MinosSnapshotQueryException, match="field name"):
        Ordering.DESC(field)


def test_bad_condition_arguments_are_rejected():
    with pytest.raises(MinosSnapshotQueryException, match="cannot be compared"):
        Condition.EQUAL("a", {"nested": "object"})
    with pytest.raises(MinosSnapshotQueryException, match="cannot be compared"):
        Condition.LOWER("a", [1, 2])
    with pytest.raises(MinosSnapshotQueryException, match="collection"):
        Condition.IN("a", "abc")
    with pytest.raises(MinosSnapshotQueryException, match="string pattern"):
        Condition.LIKE("a", 3)
    with pytest.raises(MinosSnapshotQueryException, match="takes conditions"):
        Condition.AND(Condition.TRUE, "name = 'x'")
    with pytest.raises(MinosSnapshotQueryException, match="takes a condition"):
        Condition.NOT("1 = 1")


def test_conditions_compare_and_render():
    assert Condition.EQUAL("a.b", 1) == Condition.EQUAL("a.b", 1)
    assert Condition.EQUAL("a.b", 1) != Condition.EQUAL("a.b", 2)
    assert Condition.AND(Condition.TRUE) == Condition.AND(Condition.TRUE)
    assert repr(Condition.IN("a", [1])) == "Condition.IN('a', [1])"
    assert repr(Ordering.DESC("a")) == "Ordering.DESC('a')"
    assert document_value(U1) == str(U1)


def test_compiled_sql_holds_no_value():
    hostile = "'); DROP TABLE docs; --"
    condition = Condition.AND(
        Condition.EQUAL("name", hostile),
        Condition.LIKE("note", hostile),
        Condition.IN("owner", [hostile, U1]),
        Condition.GREATER("age", 3),
    )
    for dialect in ("postgresql", "sqlite"):
        sql, params = compile_condition(condition, dialect)
        assert "DROP" not in sql and str(U1) not in sql and "3" not in sql
        assert hostile in params
        # IN values travel as one array (PostgreSQL) or JSON array (SQLite).
        assert [hostile, str(U1)] in params or (
            orjson.dumps([hostile, str(U1)]).decode() in params
        )
