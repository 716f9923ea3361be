"""The outbox and the producer, on real PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from minos.common import close_database_pools, database_pool
from minos.networks import (
    PARKED,
    PENDING,
    EventBroker,
    InMemoryTransport,
    Outbox,
    Producer,
    ProducerService,
    TransportException,
)
from testing.messaging import eventually, make_config, memory_transport, unique


@pytest.fixture(params=["postgresql", "sqlite"])
async def pool(request, tmp_path):
    if request.param == "postgresql":
        settings = request.getfixturevalue("fresh_postgres_settings")
    else:
        settings = {"path": str(tmp_path / "queue.sqlite3")}
    pool = database_pool(settings)
    await Outbox(pool).create_schema()
    yield pool
    await close_database_pools()


class RejectingTransport(InMemoryTransport):
    """An in-process broker that refuses one topic, like a broker rejecting a record."""

    def __init__(self, rejected: str) -> None:
        super().__init__(unique("rejecting"))
        self.rejected = rejected

    async def publish(self, records):
        results = await super().publish(
            [r for r in records if r.topic != self.rejected]
        )
        errors = iter(results)
        return [
            TransportException(f"{self.rejected!r} refused")
            if r.topic == self.rejected
            else next(errors)
            for r in records
        ]


def producer_for(pool, transport, **kwargs) -> Producer:
    kwargs = {
        "records": 50,
        "retry": 2,
        "backoff": 0.01,
        "poll_interval": 0.2,
        **kwargs,
    }
    return Producer(pool, transport, **kwargs)


async def test_enqueue_joins_the_callers_transaction(pool):
    outbox = Outbox(pool)
    with pytest.raises(RuntimeError):
        async with pool.transaction():
            await outbox.enqueue("Lost", b"x")
            raise RuntimeError("the change failed")
    async with pool.transaction():
        await outbox.enqueue("Kept", b"y", key="k", headers={"h": "v"})
    rows = await outbox.claim(10, owner="me", lease=5)
    assert [(r.topic, r.payload, r.key, r.headers) for r in rows] == [
        ("Kept", b"y", "k", {"h": "v"})
    ]
    assert rows[0].created_at.tzinfo is not None


async def test_the_notification_is_delivered_at_commit(pool):
    outbox = Outbox(pool)
    async with pool.listen(outbox.channel) as wakeups:
        async with pool.transaction():
            await outbox.enqueue("T", b"x")
            await asyncio.sleep(0.1)
            assert wakeups.empty()
        await asyncio.wait_for(wakeups.get(), 5)


async def test_claimed_rows_are_leased_and_keys_keep_their_order(pool):
    outbox = Outbox(pool)
    for i in range(3):
        await outbox.enqueue("T", f"a{i}".encode(), key="a")
    await outbox.enqueue("T", b"b0", key="b")
    first = await outbox.claim(2, owner="one", lease=30)
    second = await outbox.claim(10, owner="two", lease=30)
    # "a2" must wait: an earlier row of key "a" is leased to the first producer.
    assert [r.payload for r in first] == [b"a0", b"a1"]
    assert [r.payload for r in second] == [b"b0"]
    await outbox.delete(r.id for r in first)
    third = await outbox.claim(10, owner="two", lease=30)
    assert [r.payload for r in third] == [b"a2"]


async def test_an_expired_lease_makes_the_row_claimable_again(pool):
    outbox = Outbox(pool)
    await outbox.enqueue("T", b"x", key="k")
    assert len(await outbox.claim(10, owner="crashed", lease=-1)) == 1
    again = await outbox.claim(10, owner="other", lease=30)
    assert [r.payload for r in again] == [b"x"]


async def test_failures_are_retried_then_parked_and_can_be_requeued(pool):
    outbox = Outbox(pool)
    await outbox.enqueue("T", b"x", key="k")
    await outbox.enqueue("T", b"y", key="k")
    states = []
    for _ in range(3):
        (row,) = (await outbox.claim(1, owner="me", lease=30))[:1]
        assert row.payload == b"x"  # "y" waits behind it
        states.append(await outbox.fail(row.id, "boom", retry=2, delay=0))
    assert states == [False, False, True]

    (parked,) = await outbox.parked()
    assert (parked.payload, parked.attempts, parked.state) == (b"x", 3, PARKED)
    assert parked.last_error == "boom"
    # A parked row no longer holds back its key.
    assert [r.payload for r in await outbox.claim(10, owner="me", lease=30)] == [b"y"]

    assert await outbox.requeue() == 1
    assert await outbox.count(PARKED) == 0
    assert await outbox.count(PENDING) == 2


async def test_a_row_waiting_for_a_retry_holds_back_its_key(pool):
    outbox = Outbox(pool)
    await outbox.enqueue("T", b"x", key="k")
    await outbox.enqueue("T", b"y", key="k")
    await outbox.enqueue("T", b"z", key="other")
    (row,) = (await outbox.claim(1, owner="me", lease=30))[:1]
    await outbox.fail(row.id, "boom", retry=5, delay=60)
    assert [r.payload for r in await outbox.claim(10, owner="me", lease=30)] == [b"z"]


async def test_the_producer_publishes_batches_keyed_and_deletes_them(pool):
    transport = memory_transport()
    outbox = Outbox(pool)
    for i in range(120):
        await outbox.enqueue(
            "Topic", f"{i}".encode(), key=f"k{i % 3}", headers={"n": str(i)}
        )
    async with producer_for(pool, transport) as producer:
        settled = [await producer.dispatch() for _ in range(4)]
    assert settled == [50, 50, 20, 0]
    records = transport.records("Topic")
    assert [r.value for r in records] == [f"{i}".encode() for i in range(120)]
    assert records[4].key == b"k1"
    assert records[4].header("n") == b"4"
    assert await outbox.count() == 0


async def test_an_outage_parks_nothing_and_everything_goes_out_after_it(pool):
    transport = memory_transport()
    outbox = Outbox(pool)
    transport.set_available(False)
    async with producer_for(pool, transport, retry=0) as producer:
        task = asyncio.create_task(producer.run())
        for i in range(10):
            await outbox.enqueue("T", f"{i}".encode(), key="k")
        await asyncio.sleep(0.5)
        assert transport.records("T") == []
        assert await outbox.count(PENDING) == 10
        transport.set_available(True)
        await eventually(lambda: len(transport.records("T")) == 10)
        producer.stop()
        await task
    assert [r.value for r in transport.records("T")] == [
        f"{i}".encode() for i in range(10)
    ]
    assert await outbox.count() == 0


async def test_a_rejected_message_is_parked_and_the_rest_flows(pool):
    transport = RejectingTransport("Poison")
    outbox = Outbox(pool)
    await outbox.enqueue("Poison", b"bad", key="k")
    for i in range(5):
        await outbox.enqueue("Good", f"{i}".encode(), key="k")
    async with producer_for(pool, transport, retry=1) as producer:
        task = asyncio.create_task(producer.run())
        await eventually(lambda: len(transport.records("Good")) == 5)
        await eventually(lambda: outbox.count(PARKED))
        parked = await producer.parked()
        producer.stop()
        await task
    assert [(r.topic, r.attempts) for r in parked] == [("Poison", 2)]
    assert "refused" in parked[0].last_error
    transport.rejected = None
    async with producer_for(pool, transport) as producer:
        assert await producer.requeue([parked[0].id]) == 1
        await producer.dispatch()
    assert [r.value for r in transport.records("Poison")] == [b"bad"]


async def test_notifications_wake_the_producer_before_its_poll_interval(pool):
    transport = memory_transport()
    async with producer_for(pool, transport, poll_interval=30) as producer:
        task = asyncio.create_task(producer.run())
        await asyncio.sleep(0.2)  # let it go idle
        async with pool.transaction():
            await Outbox(pool).enqueue("T", b"x")
        await eventually(lambda: len(transport.records("T")) == 1, within=5)
        producer.stop()
        await asyncio.wait_for(task, 5)


async def test_two_producers_send_each_row_once_and_in_key_order(pool):
    transport = memory_transport()
    outbox = Outbox(pool)
    total = 300
    for i in range(total):
        await outbox.enqueue("T", f"{i % 5}:{i}".encode(), key=f"k{i % 5}")
    producers = [producer_for(pool, transport, records=7) for _ in range(2)]
    async with contextlib.AsyncExitStack() as stack:
        for producer in producers:
            await stack.enter_async_context(producer)
        tasks = [asyncio.create_task(p.run()) for p in producers]
        await eventually(lambda: len(transport.records("T")) >= total, within=30)
        await asyncio.sleep(0.3)
        for producer in producers:
            producer.stop()
        await asyncio.gather(*tasks)
    values = [r.value.decode() for r in transport.records("T")]
    assert len(values) == total
    assert len(set(values)) == total
    for key in range(5):
        ours = [int(v.split(":")[1]) for v in values if v.startswith(f"{key}:")]
        assert ours == sorted(ours)


async def test_the_producer_service_runs_from_the_configuration(tmp_path):
    queue = {"path": str(tmp_path / "q.sqlite3")}
    config = make_config(unique("svc"), queue)
    service = ProducerService.from_config(config)
    transport = InMemoryTransport.shared()
    topic = unique("Configured")
    await service.start()
    try:
        assert service.producer.records == 100
        await Outbox(database_pool(queue)).enqueue(topic, b"x")
        await eventually(lambda: len(transport.records(topic)) == 1, within=5)
    finally:
        await service.stop()
        await close_database_pools()


def test_invalid_producer_settings_are_refused(tmp_path):
    pool = database_pool({"path": str(tmp_path / "unused.sqlite3")})
    with pytest.raises(ValueError, match="records"):
        Producer(pool, memory_transport(), records=0)
    with pytest.raises(ValueError, match="retry"):
        Producer(pool, memory_transport(), retry=-1)


async def test_a_first_send_in_a_rolled_back_transaction_leaves_the_broker_usable(
    request,
):
    pool = database_pool(request.getfixturevalue("fresh_postgres_settings"))
    broker = EventBroker(pool)
    try:
        with pytest.raises(RuntimeError):
            async with pool.transaction():
                await broker.send({"n": 1}, "Lost")
                raise RuntimeError("rolled back, table creation included")
        await broker.send({"n": 2}, "Kept")
        assert await Outbox(pool).count() == 1
        assert broker.already_setup
    finally:
        await close_database_pools()
