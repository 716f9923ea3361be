"""Request/reply over ephemeral topics with DynamicHandlerPool, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from minos.common import close_database_pools
from minos.networks import (
    CommandBroker,
    CommandHandler,
    CommandHandlerService,
    CommandReply,
    CommandStatus,
    Consumer,
    ConsumerService,
    DynamicHandlerPool,
    MinosHandlerException,
    MinosHandlerNotFoundEnoughEntriesException,
    OutgoingRecord,
    Producer,
    ProducerService,
    Request,
    Response,
    ResponseException,
    enroute,
)
from testing.messaging import (
    kafka_transport,
    make_config,
    memory_transport,
    register_module,
    unique,
)

FAST = {"poll_interval": 0.2, "backoff": 0.01}


class PriceService:
    @enroute.broker.command("GetPrice")
    async def get_price(self, request: Request) -> Response:
        content = await request.content()
        if content["item"] == "unknown":
            raise ResponseException("no such item")
        return Response({"item": content["item"], "price": 10})


@pytest.fixture(
    params=[("memory", "sqlite"), ("kafka", "postgresql")], ids=lambda p: "-".join(p)
)
async def setup(request, tmp_path):
    transport_kind, database = request.param
    if database == "postgresql":
        queue = dict(request.getfixturevalue("fresh_postgres_settings"))
    else:
        queue = {"path": str(tmp_path / "queue.sqlite3")}
    if transport_kind == "kafka":
        transport = kafka_transport(request.getfixturevalue("kafka_bootstrap"))
    else:
        transport = memory_transport()
    module = unique("prices").replace("-", "_")
    register_module(module, PriceService=PriceService)
    # The topic names of this test are fixed: give the service a private one.
    name = unique("Prices")
    config = make_config(name, queue, commands=f"{module}.PriceService")
    services = [
        ProducerService(
            producer=Producer.from_config(config, transport=transport, **FAST)
        ),
        ConsumerService(
            consumer=Consumer.from_config(
                config, transport=transport, routes={f"{name}GetPrice": ["command"]}
            )
        ),
        CommandHandlerService(
            handler=CommandHandler.from_config(
                config,
                handlers={f"{name}GetPrice": PriceService().get_price},
                **FAST,
            )
        ),
    ]
    for service in services:
        await service.start()
    pool = DynamicHandlerPool.from_config(config, transport=transport)
    broker = CommandBroker.from_config(config)
    try:
        yield pool, broker, f"{name}GetPrice", transport
    finally:
        for service in reversed(services):
            await service.stop()
        await pool.destroy()
        await transport.destroy()
        await close_database_pools()


async def test_a_request_gets_its_reply(setup):
    pool, broker, topic, _ = setup
    async with pool.acquire() as handler:
        assert handler.topic.startswith(f"{pool.service_name}Reply-")
        await broker.send({"item": "pen"}, topic, reply_topic=handler.topic)
        reply = await handler.get_one(timeout=20)
        await broker.send({"item": "unknown"}, topic, reply_topic=handler.topic)
        error = await handler.get_one(timeout=20)
    assert isinstance(reply, CommandReply)
    assert (reply.status, reply.data) == (
        CommandStatus.SUCCESS,
        {"item": "pen", "price": 10},
    )
    assert (error.status, error.data) == (CommandStatus.ERROR, "no such item")
    assert pool.idle == 1


async def test_handlers_are_reused_and_a_timed_out_one_is_not(setup):
    pool, broker, topic, _ = setup
    async with pool.acquire() as first:
        pass
    async with pool.acquire() as second:
        assert second is first
        with pytest.raises(
            MinosHandlerNotFoundEnoughEntriesException, match="within 0.3s"
        ):
            await second.get_one(timeout=0.3)
    assert pool.idle == 0
    async with pool.acquire() as third:
        assert third.topic != first.topic


async def test_concurrent_requests_use_separate_topics(setup):
    pool, broker, topic, _ = setup

    async def ask(item: str) -> object:
        async with pool.acquire() as handler:
            await broker.send({"item": item}, topic, reply_topic=handler.topic)
            return (await handler.get_one(timeout=20)).data

    answers = await asyncio.gather(*(ask(f"item{i}") for i in range(4)))
    assert answers == [{"item": f"item{i}", "price": 10} for i in range(4)]


async def test_an_undecodable_reply_is_ignored(setup):
    pool, broker, topic, transport = setup
    async with pool.acquire() as handler:
        await transport.publish([OutgoingRecord(handler.topic, b"garbage")])
        await broker.send({"item": "ink"}, topic, reply_topic=handler.topic)
        reply = await handler.get_one(timeout=20)
    assert reply.data == {"item": "ink", "price": 10}


async def test_waiting_inside_the_outbox_transaction_is_refused(setup):
    pool, broker, topic, _ = setup
    async with pool.acquire() as handler:
        async with broker.pool.transaction():
            await broker.send({"item": "pen"}, topic, reply_topic=handler.topic)
            with pytest.raises(
                MinosHandlerException, match="inside an open transaction"
            ):
                await handler.get_one(timeout=1)
        # Committed now: the request went out and its reply comes.
        assert (await handler.get_one(timeout=20)).data["item"] == "pen"


async def test_get_many_collects_several_replies(setup):
    pool, broker, topic, _ = setup
    async with pool.acquire() as handler:
        for item in ("a", "b"):
            await broker.send({"item": item}, topic, reply_topic=handler.topic, key="k")
        replies = await handler.get_many(2, timeout=20)
    assert [r.data["item"] for r in replies] == ["a", "b"]


async def test_a_failing_block_discards_its_handler(setup):
    pool, *_ = setup
    with pytest.raises(KeyError):
        async with pool.acquire():
            raise KeyError("caller failed")
    assert pool.idle == 0
