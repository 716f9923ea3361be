"""Failure tests on real PostgreSQL and a private Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import logging

import pytest

from minos.common import close_database_pools, database_pool
from minos.networks import (
    EVENT,
    PARKED,
    PENDING,
    Consumer,
    ConsumerService,
    EventBroker,
    EventHandler,
    EventHandlerService,
    Inbox,
    OutgoingRecord,
    Producer,
    ProducerService,
    Request,
    enroute,
)
from testing.messaging import (
    eventually,
    kafka_transport,
    make_config,
    register_module,
    unique,
)

FAST = {"poll_interval": 0.2, "backoff": 0.05, "max_backoff": 0.5}


class Payments:
    def __init__(self, config=None) -> None:
        self.pool = database_pool(config.broker.queue._asdict())

    @enroute.broker.event("PaymentMade")
    async def payment_made(self, request: Request) -> None:
        content = await request.content()
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO payment (reference) VALUES (%s)", (content["reference"],)
            )


@pytest.fixture
async def system(fresh_postgres_settings, kafka_broker_factory):
    broker = kafka_broker_factory()
    module = unique("payments").replace("-", "_")
    register_module(module, Payments=Payments)
    config = make_config(
        unique("Pay"),
        dict(fresh_postgres_settings),
        bootstrap=broker.bootstrap,
        events=f"{module}.Payments",
        retry=1,
    )
    pool = database_pool(config.broker.queue._asdict())
    async with pool.connection() as conn:
        await conn.execute("CREATE TABLE payment (reference TEXT NOT NULL)")
    transport = kafka_transport(broker.bootstrap)
    producer = Producer.from_config(config, transport=transport, **FAST)
    services = [
        ProducerService(producer=producer),
        ConsumerService(
            consumer=Consumer.from_config(
                config, transport=transport, poll_interval=0.2, max_backoff=0.5
            )
        ),
        EventHandlerService(handler=EventHandler.from_config(config, **FAST)),
    ]
    for service in services:
        await service.start()
    try:
        yield {
            "broker": broker,
            "pool": pool,
            "events": EventBroker.from_config(config),
            "producer": producer,
            "transport": transport,
        }
    finally:
        for service in reversed(services):
            await service.stop()
        await transport.destroy()
        await close_database_pools()


async def references(pool) -> list[str]:
    async with pool.connection() as conn:
        rows = await conn.fetchall("SELECT reference FROM payment ORDER BY reference")
    return [row[0] for row in rows]


async def test_messages_queued_while_kafka_is_down_arrive_once_it_is_back(system):
    pool, events, broker = system["pool"], system["events"], system["broker"]
    expected = [f"r{i:03d}" for i in range(60)]
    for reference in expected[:10]:
        await events.send({"reference": reference}, "PaymentMade")

    async def first_arrived() -> bool:
        return len(await references(pool)) == 10

    await eventually(first_arrived, within=30)

    broker.stop()
    for reference in expected[10:]:
        async with pool.transaction():
            await events.send({"reference": reference}, "PaymentMade")
    await asyncio.sleep(2.0)  # the producer tries, and keeps everything queued
    outbox = system["producer"].outbox
    assert await outbox.count(PARKED) == 0
    assert await outbox.count(PENDING) == 50

    broker.start()

    async def all_arrived() -> bool:
        return len(await references(pool)) >= len(expected)

    await eventually(all_arrived, within=90)
    await asyncio.sleep(1.0)
    assert await references(pool) == expected
    assert await outbox.count() == 0


async def test_a_poison_message_is_parked_and_the_next_ones_flow(system, caplog):
    pool, events = system["pool"], system["events"]
    caplog.set_level(logging.WARNING)
    # Too large for the broker (let past the brokers' own limit): the producer
    # parks it at once, since sending it again cannot succeed.
    events.max_message_bytes = 4 * 2**20
    await events.send({"reference": "x" * 2_000_000}, "PaymentMade", key="k")
    # Not a minos message at all: the handler parks it.
    await system["transport"].publish([OutgoingRecord("PaymentMade", b"junk")])
    for reference in ("after1", "after2"):
        await events.send({"reference": reference}, "PaymentMade", key="k")

    async def flowed() -> bool:
        return await references(pool) == ["after1", "after2"]

    await eventually(flowed, within=60)
    outbox = system["producer"].outbox
    await eventually(lambda: outbox.count(PARKED), within=20)
    (parked,) = await system["producer"].parked()
    assert parked.attempts == 1
    assert "MessageSizeTooLarge" in parked.last_error
    inbox = Inbox(pool)
    await eventually(lambda: inbox.rows(EVENT, state="parked"), within=20)
    (undecodable,) = await inbox.rows(EVENT, state="parked")
    assert "not in a known minos format" in undecodable.last_error
    assert any("parked outbox message" in r.message for r in caplog.records)
