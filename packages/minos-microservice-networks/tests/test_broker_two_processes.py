"""End to end across two microservice processes started with ``minos run``.

``till`` (process A) queues events and commands in its outbox and serves a REST
route that makes a request/reply call through its ``DynamicHandlerPool``;
``ledger`` (process B) consumes them with its decorated handlers. Both run on
real PostgreSQL databases and a private Kafka-protocol broker.
"""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from minos.common import close_database_pools, database_pool
from minos.networks import (
    CommandBroker,
    CommandReply,
    CommandStatus,
    EventBroker,
    KafkaTransport,
)
from testing.harness import free_port
from testing.messaging import eventually
from testing.services import ServiceProcess, write_service

LEDGER_SOURCE = """
from __future__ import annotations

from minos.common import database_pool
from minos.networks import Request, Response, ResponseException, enroute


class LedgerCommands:
    def __init__(self, config=None):
        self.pool = database_pool(config.broker.queue._asdict())

    @enroute.broker.command("Charge")
    async def charge(self, request: Request) -> Response:
        content = await request.content()
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO ledger_charge (reference) VALUES (%s)",
                (content["reference"],),
            )
        if content["amount"] < 0:
            raise ResponseException("a charge cannot be negative")
        if content["amount"] == 0:
            raise ZeroDivisionError("nothing to charge")
        charged = {"reference": content["reference"], "charged": content["amount"]}
        return Response(charged)


class LedgerQueries:
    def __init__(self, config=None):
        self.pool = database_pool(config.broker.queue._asdict())

    @enroute.broker.event("PaymentMade")
    async def payment_made(self, request: Request) -> None:
        content = await request.content()
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO ledger_payment (reference, amount) VALUES (%s, %s)",
                (content["reference"], content["amount"]),
            )
"""

TILL_SOURCE = """
from __future__ import annotations

from dependency_injector.wiring import Provide

from minos.networks import Request, Response, ResponseException, enroute


class TillCommands:
    pool = Provide["dynamic_handler_pool"]
    broker = Provide["command_broker"]

    @enroute.rest.command("/quotes", "POST")
    async def quote(self, request: Request) -> Response:
        content = await request.content()
        async with self.pool.acquire() as handler:
            await self.broker.send(content, "Charge", reply_topic=handler.topic)
            reply = await handler.get_one(timeout=30)
        if not reply.ok:
            raise ResponseException(f"the ledger said: {reply.data}")
        return Response(reply.data)
"""


@pytest.fixture
async def deployment(tmp_path, postgres_database_factory, kafka_broker_factory):
    kafka = kafka_broker_factory()
    till_db = postgres_database_factory("till")
    ledger_db = postgres_database_factory("ledger")

    ledger_pool = database_pool(ledger_db)
    async with ledger_pool.connection() as conn:
        await conn.execute("CREATE TABLE ledger_payment (reference TEXT, amount INT)")
        await conn.execute("CREATE TABLE ledger_charge (reference TEXT)")

    till_port, ledger_port = free_port(), free_port()
    till = write_service(
        tmp_path / "till",
        name="till",
        source=TILL_SOURCE,
        services=[
            "minos.networks.ConsumerService",
            "minos.networks.CommandReplyHandlerService",
            "minos.networks.RestService",
            "minos.networks.ProducerService",
        ],
        commands="TillCommands",
        queries=None,
        database=till_db,
        kafka=kafka.bootstrap,
        rest_port=till_port,
    )
    ledger = write_service(
        tmp_path / "ledger",
        name="ledger",
        source=LEDGER_SOURCE,
        services=[
            "minos.networks.ConsumerService",
            "minos.networks.CommandHandlerService",
            "minos.networks.EventHandlerService",
            "minos.networks.ProducerService",
            "minos.networks.RestService",
        ],
        commands="LedgerCommands",
        queries="LedgerQueries",
        database=ledger_db,
        kafka=kafka.bootstrap,
        rest_port=ledger_port,
    )
    processes = {
        "till": ServiceProcess(till, {}),
        "ledger": ServiceProcess(ledger, {}),
    }
    processes["till"].start(wait_port=till_port)
    processes["ledger"].start(wait_port=ledger_port)
    till_pool = database_pool(till_db)
    host, port = kafka.bootstrap.rsplit(":", 1)
    transport = KafkaTransport(host, int(port), request_timeout=5)
    try:
        yield {
            "processes": processes,
            "till_port": till_port,
            "ledger_port": ledger_port,
            "events": EventBroker(till_pool, service_name="till"),
            "commands": CommandBroker(till_pool, service_name="till"),
            "ledger_pool": ledger_pool,
            "transport": transport,
        }
    finally:
        codes = {name: process.stop() for name, process in processes.items()}
        await transport.destroy()
        await close_database_pools()
        for name, code in codes.items():
            assert code == 0, f"{name} stopped with {code}:\n{processes[name].output()}"


async def count(pool, query: str, params=()) -> int:
    async with pool.connection() as conn:
        row = await conn.fetchone(query, params)
    return row[0]


async def test_an_event_reaches_the_other_service_once_even_across_a_crash(deployment):
    events, ledger_pool = deployment["events"], deployment["ledger_pool"]
    references = [f"p{i}" for i in range(40)]
    for reference in references[:20]:
        async with events.pool.transaction():
            await events.send({"reference": reference, "amount": 5}, "PaymentMade")

    ledger = deployment["processes"]["ledger"]

    async def some_arrived() -> bool:
        return await count(ledger_pool, "SELECT COUNT(*) FROM ledger_payment") > 0

    await eventually(some_arrived, within=60)
    ledger.kill()  # SIGKILL, whatever it was doing
    for reference in references[20:]:
        await events.send({"reference": reference, "amount": 5}, "PaymentMade")
    ledger.start(wait_port=deployment["ledger_port"])

    async def all_arrived() -> bool:
        total = await count(ledger_pool, "SELECT COUNT(*) FROM ledger_payment")
        return total >= len(references)

    await eventually(all_arrived, within=60)
    await asyncio.sleep(1.0)  # anything redelivered late would show up now
    async with ledger_pool.connection() as conn:
        rows = await conn.fetchall(
            "SELECT reference, COUNT(*) FROM ledger_payment GROUP BY reference"
        )
    assert sorted(rows) == sorted((reference, 1) for reference in references)


async def test_commands_get_their_three_kinds_of_reply(deployment):
    commands, transport = deployment["commands"], deployment["transport"]
    reply_topic = f"tillReply-test-{uuid.uuid4().hex[:8]}"
    subscription = await transport.subscribe([reply_topic], group=None)
    saga = uuid.uuid4()
    try:
        for reference, amount in (
            ("ok", 10),
            ("negative", -1),
            ("zero", 0),
            ("after", 3),
        ):
            await commands.send(
                {"reference": reference, "amount": amount},
                "Charge",
                saga=saga,
                reply_topic=reply_topic,
            )
        replies: list[CommandReply] = []

        async def four_replies() -> bool:
            for record in await subscription.poll(max_wait=0.5):
                replies.append(CommandReply.from_avro_bytes(record.value))
            return len(replies) >= 4

        await eventually(four_replies, within=60)
    finally:
        await subscription.close()

    assert [(r.status, r.data) for r in replies] == [
        (CommandStatus.SUCCESS, {"reference": "ok", "charged": 10}),
        (CommandStatus.ERROR, "a charge cannot be negative"),
        (
            CommandStatus.SYSTEM_ERROR,
            "the command 'Charge' failed: ZeroDivisionError: nothing to charge",
        ),
        (CommandStatus.SUCCESS, {"reference": "after", "charged": 3}),
    ]
    assert {(r.saga, r.service_name) for r in replies} == {(saga, "ledger")}
    # The failed commands' writes were rolled back; the others stayed, once.
    charged = await count(
        deployment["ledger_pool"], "SELECT COUNT(*) FROM ledger_charge"
    )
    assert charged == 2


async def test_a_request_reply_round_trip_through_the_dynamic_handler_pool(deployment):
    url = f"http://127.0.0.1:{deployment['till_port']}/quotes"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"reference": "q1", "amount": 7}) as response:
            ok = (response.status, await response.json())
        async with session.post(
            url, json={"reference": "q2", "amount": -7}
        ) as response:
            refused = (response.status, await response.json())
    assert ok == (200, {"reference": "q1", "charged": 7})
    assert refused[0] == 400
    assert "a charge cannot be negative" in str(refused[1])
