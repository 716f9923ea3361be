"""Operator commands: listing parked messages and putting them back."""

from __future__ import annotations

import asyncio
import io

import pytest

from minos.common import (
    MinosConfig,
    MinosException,
    close_database_pools,
    database_pool,
)
from minos.networks import EVENT, Inbox, IncomingRecord, Outbox
from minos.networks.brokers.cli import list_parked, main, requeue_parked


@pytest.fixture
async def queues(tmp_path):
    path = tmp_path / "config.yml"
    database = tmp_path / "queues.sqlite3"
    path.write_text(f"service:\n  name: ops\nbroker:\n  queue:\n    path: {database}\n")
    pool = database_pool({"path": str(database)})
    outbox, inbox = Outbox(pool), Inbox(pool)
    await outbox.create_schema()
    await inbox.create_schema()
    await outbox.enqueue("Rejected", b"x")
    (row,) = await outbox.claim(1, owner="test", lease=10)
    await outbox.fail(row.id, "too large", retry=0, delay=0)
    await inbox.store([(EVENT, IncomingRecord("Broken", 0, 7, None, b"junk"))])
    (stored,) = await inbox.rows(EVENT)
    async with pool.transaction() as conn:
        await inbox.park(conn, stored.id, "not a minos message")
    yield path, outbox, inbox
    await close_database_pools()


async def test_parked_messages_are_listed_and_requeued(queues):
    path, outbox, inbox = queues
    config = MinosConfig(path, with_environment=False)
    listed = await list_parked(config)
    assert [(q, topic, error) for q, _, topic, _, error in listed] == [
        ("outbox", "Rejected", "too large"),
        ("event", "Broken", "not a minos message"),
    ]
    assert await list_parked(config, "command") == []

    assert await requeue_parked(config, "outbox") == 1
    assert await requeue_parked(config, "event", [listed[1][1]]) == 1
    assert await list_parked(config) == []
    assert await outbox.count("pending") == 1
    assert [r.state for r in await inbox.rows(EVENT)] == ["pending"]


async def test_the_command_line_prints_and_requeues(queues):
    path, *_ = queues
    out = io.StringIO()
    # The command line runs its own event loop: call it from a worker thread.
    code = await asyncio.to_thread(main, ["parked", str(path)], out)
    assert code == 0
    text = out.getvalue()
    assert "outbox\t1\tRejected\t1\ttoo large" in text
    assert "2 parked message(s)" in text

    out = io.StringIO()
    code = await asyncio.to_thread(
        main, ["requeue", str(path), "--queue", "outbox", "--id", "1"], out
    )
    assert (code, out.getvalue().strip()) == (
        0,
        "1 message(s) put back in the outbox queue",
    )


async def test_an_unknown_queue_is_refused(queues):
    path, *_ = queues
    config = MinosConfig(path, with_environment=False)
    with pytest.raises(MinosException, match="unknown queue 'nope'"):
        await requeue_parked(config, "nope")
