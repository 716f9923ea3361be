"""The messaging contract, end to end inside one process, on every backend pair.

Each test runs the real pieces (brokers -> outbox -> producer -> transport ->
consumer -> inbox -> handlers) on the in-process transport and on Kafka
(Tansu), with the queues on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from minos.common import MinosSagaManager, close_database_pools, database_pool
from minos.networks import (
    COMMAND,
    EVENT,
    CommandBroker,
    CommandHandler,
    CommandHandlerService,
    CommandReply,
    CommandReplyHandler,
    CommandReplyHandlerService,
    CommandStatus,
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
    Response,
    ResponseException,
    current_trace_id,
    enroute,
)
from testing.messaging import (
    eventually,
    kafka_transport,
    make_config,
    memory_transport,
    register_module,
    unique,
)

FAST = {"poll_interval": 0.2, "backoff": 0.01}


class Journal:
    """What the handlers saw, per test."""

    events: list[tuple[str, Any, Any]] = []
    ordered: dict[str, list[int]] = {}


class ShopCommandService:
    """Command handlers of every flavour: instance/static, sync/async."""

    def __init__(self, config: Any = None) -> None:
        self.pool = database_pool(config.broker.queue._asdict())

    @enroute.broker.command("AddItem")
    async def add_item(self, request: Request) -> Response:
        content = await request.content()
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO shop_item (name) VALUES (%s)", (content["name"],)
            )
        if content.get("fail") == "expected":
            raise ResponseException(f"{content['name']} is not for sale")
        if content.get("fail") == "unexpected":
            raise ZeroDivisionError("division by zero")
        return Response({"added": content["name"], "user": request.user})

    @staticmethod
    @enroute.broker.query("CountItems")
    def count_items(request: Request) -> int:
        return 42

    @enroute.broker.command("Nothing")
    async def nothing(self, request: Request) -> None:
        return None


class ShopQueryService:
    @staticmethod
    @enroute.broker.event("ItemAdded")
    async def item_added(request: Request) -> None:
        Journal.events.append(("ItemAdded", await request.content(), request.user))

    @enroute.broker.event("ItemSold")
    def item_sold(self, request: Request) -> None:
        Journal.events.append(("ItemSold", None, current_trace_id.get()))

    @enroute.broker.event("Ordered")
    async def ordered(self, request: Request) -> None:
        content = await request.content()
        Journal.ordered.setdefault(content["key"], []).append(content["n"])

    @enroute.broker.event("Flaky")
    async def flaky(self, request: Request) -> None:
        content = await request.content()
        Journal.events.append(("Flaky", content, None))
        raise RuntimeError(f"flaky {content}")


@pytest.fixture(autouse=True)
def services_module():
    Journal.events = []
    Journal.ordered = {}
    name = unique("shop_services").replace("-", "_")
    register_module(
        name, ShopCommandService=ShopCommandService, ShopQueryService=ShopQueryService
    )
    return name


@pytest.fixture(
    params=[
        ("memory", "sqlite"),
        ("memory", "postgresql"),
        ("kafka", "postgresql"),
        ("kafka", "sqlite"),
    ],
    ids=lambda p: "-".join(p),
)
def backend(request, tmp_path):
    transport_kind, database = request.param
    if database == "postgresql":
        queue = dict(request.getfixturevalue("fresh_postgres_settings"))
    else:
        queue = {"path": str(tmp_path / "queue.sqlite3")}
    if transport_kind == "kafka":
        # A private broker: the topics of these tests have fixed names.
        bootstrap = request.getfixturevalue("kafka_broker_factory")().bootstrap
        return queue, lambda: kafka_transport(bootstrap)
    shared = memory_transport()
    return queue, lambda: shared


class Node:
    """Every messaging piece of one service, started like the launcher would."""

    def __init__(self, config, transport, saga_manager=None) -> None:
        self.config = config
        self.transport = transport
        self.pool = database_pool(config.broker.queue._asdict())
        self.producer = Producer.from_config(config, transport=transport, **FAST)
        self.consumer = Consumer.from_config(
            config, transport=transport, poll_interval=0.2
        )
        self.services = [
            ProducerService(producer=self.producer),
            ConsumerService(consumer=self.consumer),
            CommandHandlerService(handler=CommandHandler.from_config(config, **FAST)),
            EventHandlerService(handler=EventHandler.from_config(config, **FAST)),
            CommandReplyHandlerService(
                handler=CommandReplyHandler.from_config(
                    config, saga_manager=saga_manager, **FAST
                )
            ),
        ]
        self.events = EventBroker.from_config(config)
        self.commands = CommandBroker.from_config(config)

    async def __aenter__(self) -> Node:
        async with self.pool.connection() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS shop_item (name TEXT NOT NULL)"
            )
        for service in self.services:
            await service.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for service in reversed(self.services):
            await service.stop()
        await self.consumer.destroy()

    async def items(self) -> list[str]:
        async with self.pool.connection() as conn:
            rows = await conn.fetchall("SELECT name FROM shop_item ORDER BY name")
        return [row[0] for row in rows]


@pytest.fixture
async def node(backend, services_module):
    queue, transport = backend
    config = make_config(
        unique("Shop"),
        queue,
        commands=f"{services_module}.ShopCommandService",
        queries=f"{services_module}.ShopQueryService",
        retry=1,
    )
    async with Node(config, transport()) as node:
        yield node
    await close_database_pools()


class ReplyReader:
    """Reads the replies that arrive on one topic."""

    def __init__(self, transport, topic: str) -> None:
        self.transport = transport
        self.topic = topic
        self.replies: list[CommandReply] = []

    async def __aenter__(self) -> ReplyReader:
        self.subscription = await self.transport.subscribe([self.topic], group=None)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.subscription.close()

    async def wait(self, count: int, within: float = 20.0) -> list[CommandReply]:
        async def enough() -> bool:
            for record in await self.subscription.poll(max_wait=0.2):
                self.replies.append(CommandReply.from_avro_bytes(record.value))
            return len(self.replies) >= count

        await eventually(enough, within=within)
        return self.replies


async def test_an_event_reaches_its_handlers(node):
    user = uuid.uuid4()
    trace = uuid.uuid4()
    await node.events.send({"name": "pen"}, "ItemAdded", user=user)
    await node.events.send(None, "ItemSold", trace_id=trace)
    await eventually(lambda: len(Journal.events) == 2)
    assert ("ItemAdded", {"name": "pen"}, user) in Journal.events
    assert ("ItemSold", None, trace) in Journal.events


async def test_commands_get_success_error_and_system_error_replies(node):
    reply_topic = unique("ShopReply")
    user = uuid.uuid4()
    saga = uuid.uuid4()
    async with ReplyReader(node.transport, reply_topic) as reader:
        sends = [
            ({"name": "pen"}, "AddItem"),
            ({"name": "gold", "fail": "expected"}, "AddItem"),
            ({"name": "bomb", "fail": "unexpected"}, "AddItem"),
            (None, "CountItems"),
            (None, "Nothing"),
            ({"name": "ink"}, "AddItem"),
        ]
        ids = []
        for data, topic in sends:
            ids.append(
                await node.commands.send(
                    data, topic, saga=saga, reply_topic=reply_topic, user=user
                )
            )
        replies = await reader.wait(len(sends))

    # Order holds per topic and key (a Kafka partition), not across topics.
    added = [r for r in replies if isinstance(r.data, dict) or r.status != 200]
    assert [r.status for r in added] == [
        CommandStatus.SUCCESS,
        CommandStatus.ERROR,
        CommandStatus.SYSTEM_ERROR,
        CommandStatus.SUCCESS,
    ]
    assert added[0].data == {"added": "pen", "user": user}
    assert added[1].data == "gold is not for sale"
    assert "ZeroDivisionError" in added[2].data
    assert added[3].data == {"added": "ink", "user": user}
    others = [r for r in replies if r not in added]
    assert sorted([r.data for r in others], key=repr) == sorted([42, None], key=repr)
    assert {r.saga for r in replies} == {saga}
    assert {r.user for r in replies} == {user}
    assert {r.service_name for r in replies} == {node.config.service.name}
    # The failed commands' writes were rolled back with them.
    assert await node.items() == ["ink", "pen"]
    assert len(set(ids)) == len(sends)


async def test_the_default_reply_topic_is_the_services_reply_topic(node):
    assert node.commands.default_reply_topic == f"{node.config.service.name}Reply"


async def test_replies_go_to_the_saga_manager(backend, services_module):
    class RecordingSagaManager(MinosSagaManager):
        def __init__(self) -> None:
            super().__init__()
            self.replies: list[CommandReply] = []

        async def run(self, definition=None, context=None, *, reply=None, **kwargs):
            self.replies.append(reply)

    queue, transport = backend
    manager = RecordingSagaManager()
    config = make_config(
        unique("Saga"), queue, commands=f"{services_module}.ShopCommandService"
    )
    async with Node(config, transport(), saga_manager=manager) as node:
        saga = uuid.uuid4()
        await node.commands.send({"name": "pen"}, "AddItem", saga=saga)
        await node.commands.send(
            {"name": "x", "fail": "expected"}, "AddItem", saga=saga
        )
        await node.commands.send({"name": "y"}, "AddItem")  # no saga: not resumed
        await eventually(lambda: len(manager.replies) == 2, within=20)
        await asyncio.sleep(0.3)
    await close_database_pools()
    assert [(r.saga, r.status) for r in manager.replies] == [
        (saga, CommandStatus.SUCCESS),
        (saga, CommandStatus.ERROR),
    ]


async def test_a_duplicate_message_takes_effect_once(node):
    topic = "AddItem"
    reply_topic = unique("DupReply")
    async with ReplyReader(node.transport, reply_topic) as reader:
        message_id = await node.commands.send(
            {"name": "once"}, topic, reply_topic=reply_topic
        )
        await reader.wait(1)
        # Publish the very same record again, as a redelivery would.
        (row,) = [
            r
            for r in await Inbox(node.pool).rows(COMMAND)
            if r.message_id == message_id
        ]
        await node.transport.publish(
            [
                OutgoingRecord(
                    topic,
                    row.payload,
                    headers=tuple((k, v.encode()) for k, v in row.headers.items()),
                )
            ]
        )
        await node.commands.send({"name": "after"}, topic, reply_topic=reply_topic)
        await reader.wait(2)
    assert await node.items() == ["after", "once"]


async def test_an_undecodable_message_is_parked_and_the_next_one_flows(node):
    await node.transport.publish([OutgoingRecord("ItemAdded", b"\x00garbage")])
    await node.events.send({"name": "fine"}, "ItemAdded")
    await eventually(lambda: len(Journal.events) == 1)
    inbox = Inbox(node.pool)
    await eventually(lambda: inbox.rows(EVENT, state="parked"))
    (parked,) = await inbox.rows(EVENT, state="parked")
    assert "not in a known minos format" in parked.last_error
    assert Journal.events == [("ItemAdded", {"name": "fine"}, None)]


async def test_a_failing_event_handler_is_retried_then_parked(node):
    await node.events.send("boom", "Flaky", key="k")
    await node.events.send({"key": "k", "n": 1}, "Ordered", key="k")
    inbox = Inbox(node.pool)
    await eventually(lambda: inbox.rows(EVENT, state="parked"))
    await eventually(lambda: Journal.ordered.get("k") == [1])
    (parked,) = await inbox.rows(EVENT, state="parked")
    assert parked.attempts == 2  # the first attempt and one retry
    assert "RuntimeError: flaky boom" in parked.last_error
    assert [e for e in Journal.events if e[0] == "Flaky"] == [
        ("Flaky", "boom", None)
    ] * 2

    # An operator puts the message back: it is handled (and fails) again.
    assert await inbox.requeue(EVENT) == 1
    await eventually(lambda: len([e for e in Journal.events if e[0] == "Flaky"]) == 3)


async def test_events_of_one_key_are_handled_in_order(node):
    for n in range(30):
        key = f"k{n % 3}"
        await node.events.send({"key": key, "n": n}, "Ordered", key=key)
    await eventually(lambda: sum(len(v) for v in Journal.ordered.values()) == 30)
    for key, numbers in Journal.ordered.items():
        assert numbers == sorted(numbers), key
        assert len(numbers) == 10


async def test_an_event_written_in_a_rolled_back_transaction_is_never_sent(node):
    with pytest.raises(RuntimeError):
        async with node.pool.transaction():
            await node.events.send({"name": "ghost"}, "ItemAdded")
            raise RuntimeError("the change failed")
    async with node.pool.transaction():
        await node.events.send({"name": "real"}, "ItemAdded")
    await eventually(lambda: len(Journal.events) == 1)
    await asyncio.sleep(0.5)
    assert Journal.events == [("ItemAdded", {"name": "real"}, None)]


async def test_a_consumer_killed_before_committing_is_redelivered_once(
    backend, services_module
):
    queue, make_transport = backend
    config = make_config(
        unique("Crash"), queue, queries=f"{services_module}.ShopQueryService"
    )
    transport = make_transport()
    async with transport:
        topic_record = event_record({"name": "crash"})
        await transport.publish([topic_record])

        crashing = Consumer.from_config(config, transport=transport)
        subscription = await crashing._subscribed()

        async def crash(records):
            raise SystemExit("killed after storing, before committing")

        subscription.commit = crash
        with pytest.raises(SystemExit):
            for _ in range(100):
                await crashing.consume(max_wait=0.5)
        await crashing._unsubscribe()

        survivor = Consumer.from_config(config, transport=transport)
        stored = 0
        for _ in range(100):
            stored += await survivor.consume(max_wait=0.5)
            if stored:
                break
        await survivor._unsubscribe()

        handler = EventHandler.from_config(config, **FAST)
        handled = await handler.dispatch()
        handled_again = await handler.dispatch()
    await close_database_pools()
    assert stored == 1
    assert (handled, handled_again) == (1, 0)
    assert Journal.events == [("ItemAdded", {"name": "crash"}, None)]


def event_record(data: Any) -> OutgoingRecord:
    """A record as the producer would publish it for an ``ItemAdded`` event."""
    from minos.networks import Event

    message = Event("ItemAdded", data)
    headers = tuple((k, v.encode()) for k, v in message.headers.items())
    return OutgoingRecord("ItemAdded", message.avro_bytes, headers=headers)


async def test_the_handler_keeps_running_after_a_failing_handler(node):
    reply_topic = unique("AliveReply")
    async with ReplyReader(node.transport, reply_topic) as reader:
        for i in range(3):
            await node.commands.send(
                {"name": f"bomb{i}", "fail": "unexpected"},
                "AddItem",
                reply_topic=reply_topic,
            )
        await node.commands.send({"name": "ok"}, "AddItem", reply_topic=reply_topic)
        replies = await reader.wait(4)
    assert sorted(r.status for r in replies) == [200, 500, 500, 500]
    assert await node.items() == ["ok"]


@pytest.mark.parametrize("transport_kind", ["memory", "kafka"])
async def test_handlers_of_different_keys_run_concurrently(
    request, transport_kind, fresh_postgres_settings
):
    # Limitation: on SQLite (one writer) handlers of different keys take turns,
    # so this holds on PostgreSQL only.
    queue = dict(fresh_postgres_settings)
    if transport_kind == "kafka":
        bootstrap = request.getfixturevalue("kafka_broker_factory")().bootstrap
        transport = kafka_transport(bootstrap)
    else:
        transport = memory_transport()
    started: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}

    class Rendezvous:
        @enroute.broker.event("Meet")
        async def meet(self, request: Request) -> None:
            key = await request.content()
            started[key].set()
            other = "b" if key == "a" else "a"
            await asyncio.wait_for(started[other].wait(), 10)

    name = unique("rendezvous").replace("-", "_")
    register_module(name, Rendezvous=Rendezvous)
    config = make_config(unique("Meet"), queue, events=f"{name}.Rendezvous")
    async with transport:
        consumer = Consumer.from_config(config, transport=transport)
        broker = EventBroker.from_config(config)
        producer = Producer.from_config(config, transport=transport)
        await broker.send("a", "Meet", key="a")
        await broker.send("b", "Meet", key="b")
        await producer.dispatch()
        for _ in range(100):
            if await consumer.consume(max_wait=0.5):
                break
        await consumer._unsubscribe()
        handled = await EventHandler.from_config(config).dispatch()
    await close_database_pools()
    assert handled == 2
