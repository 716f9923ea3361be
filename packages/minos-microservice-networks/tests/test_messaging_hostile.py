"""Hostile input and misbehaving handlers: each fault ends as a reply, a counted
retry or a parked row, never as a row retried forever or a dead handler loop."""

from __future__ import annotations

import asyncio
import io
import uuid
from typing import Any

import fastavro
import pytest

from minos.common import close_database_pools, database_pool, encode_value
from minos.networks import (
    COMMAND,
    EVENT,
    Command,
    CommandBroker,
    CommandHandler,
    CommandReply,
    CommandReplyBroker,
    CommandReplyHandler,
    CommandStatus,
    DynamicHandlerPool,
    Event,
    EventBroker,
    EventHandler,
    IncomingRecord,
    InMemoryTransport,
    MinosHandlerNotFoundEnoughEntriesException,
    MinosMessageDecodeException,
    MinosMessageException,
    Outbox,
    OutgoingRecord,
    Producer,
    Request,
    is_reply_topic,
)
from minos.networks.messages.messages import _ENVELOPE, _FORMAT

FAST = {"poll_interval": 0.05, "backoff": 0.01, "max_backoff": 0.05, "retry": 1}


@pytest.fixture(params=["sqlite", "postgresql"])
async def pool(request, tmp_path):
    if request.param == "sqlite":
        settings: dict[str, Any] = {"path": str(tmp_path / "queue.sqlite3")}
    else:
        settings = request.getfixturevalue("fresh_postgres_settings")
    pool = database_pool(settings)
    await pool.setup()
    yield pool
    await close_database_pools()


_offsets = iter(range(10**9))


def record(message: Any, *, topic: str | None = None, key: str | None = None):
    """An incoming record carrying ``message`` (a message or raw bytes)."""
    value = message if isinstance(message, bytes) else message.avro_bytes
    headers = () if isinstance(message, bytes) else message.headers.items()
    return IncomingRecord(
        topic=topic or message.topic,
        partition=0,
        offset=next(_offsets),
        key=key.encode() if key else None,
        value=value,
        headers=tuple((k, v.encode()) for k, v in headers),
    )


def envelope(**fields: Any) -> bytes:
    """Raw envelope bytes with hand-picked fields (bypassing validation)."""

    record = {
        "kind": "command_reply",
        "topic": "SomeReply",
        "id": str(uuid.uuid4()),
        "saga": None,
        "reply_topic": None,
        "user": None,
        "trace_id": str(uuid.uuid4()),
        "status": 200,
        "service_name": None,
        "data": encode_value(None),
        **fields,
    }
    buffer = io.BytesIO()
    buffer.write(_FORMAT)
    fastavro.schemaless_writer(buffer, _ENVELOPE, record)
    return buffer.getvalue()


async def replies(pool) -> list[CommandReply]:
    rows = await Outbox(pool).claim(100, owner="test", lease=60)
    return [CommandReply.from_avro_bytes(row.payload) for row in rows]


async def handled_until_quiet(handler, rounds: int = 20) -> None:
    """Dispatch until nothing is due, waiting out short retry delays."""
    for _ in range(rounds):
        if not await handler.dispatch():
            await asyncio.sleep(0.06)
            if not await handler.dispatch():
                return


# --- a command whose result cannot be encoded ---------------------------------


async def unencodable(request: Request) -> Any:
    return object()


async def test_an_unencodable_result_becomes_a_system_error_reply(pool):
    handler = CommandHandler(pool, {"Weird": unencodable}, **FAST)
    await handler.setup()
    command = Command("Weird", {"x": 1}, reply_topic="ClientReply")
    await handler.inbox.store([(COMMAND, record(command))])
    assert await handler.dispatch() == 1
    (reply,) = await replies(pool)
    assert reply.status is CommandStatus.SYSTEM_ERROR
    assert reply.trace_id == command.trace_id
    assert "cannot encode" in reply.data
    (row,) = await handler.inbox.rows(COMMAND)
    assert row.state == "done" and row.attempts == 1


class Explodes(CommandHandler):
    """A handler whose own processing fails after the handler ran."""

    async def process(self, conn, row, message) -> None:
        raise RuntimeError("processing is broken")


async def test_an_error_escaping_process_is_a_counted_attempt(pool):
    handler = Explodes(pool, {"Any": unencodable}, **FAST)
    await handler.setup()
    await handler.inbox.store([(COMMAND, record(Command("Any", 1)))])
    await handled_until_quiet(handler)
    (row,) = await handler.inbox.rows(COMMAND)
    assert row.state == "parked"
    assert row.attempts == 2
    assert "processing is broken" in row.last_error


# --- envelopes that decode but carry bad fields -------------------------------


@pytest.mark.parametrize(
    "fields",
    [{"topic": ""}, {"status": 999}, {"status": 0}, {"status": None}],
)
def test_bad_envelope_fields_are_decode_errors(fields):
    with pytest.raises(MinosMessageDecodeException):
        CommandReply.from_avro_bytes(envelope(**fields))


async def test_a_reply_with_a_bad_status_is_parked(pool):
    seen = []

    async def on_reply(request: Request) -> None:
        seen.append(await request.content())

    handler = CommandReplyHandler(pool, {"SomeReply": on_reply}, **FAST)

    await handler.setup()
    bad = IncomingRecord("SomeReply", 0, next(_offsets), None, envelope(status=999))
    await handler.inbox.store([("reply", bad)])
    await handled_until_quiet(handler)
    (row,) = await handler.inbox.rows("reply")
    assert row.state == "parked"
    assert "999" in row.last_error
    assert seen == []


# --- handlers raising BaseException -------------------------------------------


class Weird(BaseException):
    """Not an Exception, not a cancellation."""


async def test_a_base_exception_is_a_failed_attempt_and_the_loop_lives(pool):
    calls: list[str] = []

    async def on_event(request: Request) -> None:
        content = await request.content()
        calls.append(content)
        if content == "bad":
            raise Weird("odd")

    handler = EventHandler(pool, {"Thing": on_event}, **FAST)

    await handler.setup()
    task = asyncio.create_task(handler.run())
    try:
        await handler.inbox.store([(EVENT, record(Event("Thing", "bad")))])
        await handler.inbox.store([(EVENT, record(Event("Thing", "good")))])

        async def settled() -> bool:
            rows = await handler.inbox.rows(EVENT)
            return [r.state for r in rows] == ["parked", "done"]

        for _ in range(100):
            if await settled():
                break
            await asyncio.sleep(0.05)
        assert await settled()
        assert not task.done()
        (bad, _) = await handler.inbox.rows(EVENT)
        assert bad.attempts == 2 and "Weird: odd" in bad.last_error
    finally:
        handler.stop()
        await asyncio.wait_for(task, 5)


async def test_a_base_exception_in_a_command_is_a_system_error_reply(pool):
    async def odd(request: Request) -> None:
        raise Weird("odd")

    handler = CommandHandler(pool, {"Odd": odd}, **FAST)

    await handler.setup()
    await handler.inbox.store(
        [(COMMAND, record(Command("Odd", 1, reply_topic="ClientReply")))]
    )
    assert await handler.dispatch() == 1
    (reply,) = await replies(pool)
    assert reply.status is CommandStatus.SYSTEM_ERROR
    assert "Weird" in reply.data


# --- reply topics lent again, bad records among replies -----------------------


@pytest.fixture
async def handler_pool():

    pool = DynamicHandlerPool(InMemoryTransport(f"hostile-{uuid.uuid4().hex}"))
    await pool.setup()
    yield pool
    await pool.destroy()


async def publish(transport, topic: str, *values: bytes) -> None:

    errors = await transport.publish([OutgoingRecord(topic, v) for v in values])
    assert errors == [None] * len(values)


async def test_a_copy_of_a_previous_reply_is_not_given_to_the_next_borrower(
    handler_pool,
):
    first = CommandReply("x", "for the first", trace_id=uuid.uuid4())
    async with handler_pool.acquire() as handler:
        topic = handler.topic
        await publish(handler_pool.transport, topic, first.avro_bytes)
        assert (await handler.get_one(timeout=2)).data == "for the first"
    second = CommandReply("x", "for the second", trace_id=uuid.uuid4())
    async with handler_pool.acquire() as handler:
        assert handler.topic == topic  # lent again
        # At-least-once: the first reply comes again, then the second's.
        await publish(
            handler_pool.transport, topic, first.avro_bytes, second.avro_bytes
        )
        assert (await handler.get_one(timeout=2)).data == "for the second"


async def test_replies_to_other_commands_are_dropped_when_a_trace_is_given(
    handler_pool,
):
    mine, other = uuid.uuid4(), uuid.uuid4()
    async with handler_pool.acquire() as handler:
        await publish(
            handler_pool.transport,
            handler.topic,
            CommandReply("x", "stray", trace_id=other).avro_bytes,
            CommandReply("x", "mine", trace_id=mine).avro_bytes,
        )
        reply = await handler.get_one(timeout=2, trace_id=mine)
        assert reply.data == "mine" and reply.trace_id == mine
        with pytest.raises(MinosHandlerNotFoundEnoughEntriesException):
            await handler.get_one(timeout=0.2, trace_id=mine)


async def test_a_bad_record_does_not_lose_the_replies_polled_with_it(handler_pool):
    async with handler_pool.acquire() as handler:
        await publish(
            handler_pool.transport,
            handler.topic,
            CommandReply("x", 1).avro_bytes,
            envelope(status=999),
            b"\x01garbage",
            CommandReply("x", 2).avro_bytes,
        )
        replies = await handler.get_many(2, timeout=2)
        assert [r.data for r in replies] == [1, 2]


# --- a key waiting for a retry does not stall the others ----------------------


async def test_a_key_waiting_for_a_retry_does_not_stall_other_keys(pool):
    seen: list[str] = []

    async def on_event(request: Request) -> None:
        seen.append(await request.content())

    handler = EventHandler(pool, {"Thing": on_event}, records=2, **FAST)
    await handler.setup()
    blocked = [record(Event("Thing", f"a{n}"), key="a") for n in range(3)]
    await handler.inbox.store([(EVENT, r) for r in blocked])
    await handler.inbox.store([(EVENT, record(Event("Thing", "b"), key="b"))])
    first = (await handler.inbox.rows(EVENT))[0]
    async with pool.connection() as conn:  # the head of "a" waits for a retry
        await conn.execute(
            "UPDATE consumer_queue SET available_at = %s WHERE id = %s",
            (10.0**12, first.id),
        )
    assert await handler.dispatch() == 1
    assert seen == ["b"]


# --- the envelope's topic must be the record's --------------------------------


async def test_a_message_claiming_another_topic_than_its_record_is_parked(pool):
    calls: list[str] = []

    async def public(request: Request) -> str:
        calls.append("public")
        return "ok"

    async def admin(request: Request) -> str:
        calls.append("admin")
        return "ok"

    handler = CommandHandler(pool, {"Public": public, "Admin": admin}, **FAST)
    await handler.setup()
    smuggled = Command("Admin", {"drop": "everything"}, reply_topic="ClientReply")
    await handler.inbox.store([(COMMAND, record(smuggled, topic="Public"))])
    assert await handler.dispatch() == 1
    assert calls == []
    (row,) = await handler.inbox.rows(COMMAND)
    assert row.state == "parked"
    assert "'Admin'" in row.last_error and "'Public'" in row.last_error
    assert await replies(pool) == []


# --- a hanging handler ---------------------------------------------------------


async def test_a_hanging_event_handler_is_a_failed_attempt(pool):
    async def hangs(request: Request) -> None:
        await asyncio.sleep(30)

    handler = EventHandler(pool, {"Slow": hangs}, handler_timeout=0.2, **FAST)
    await handler.setup()
    await handler.inbox.store([(EVENT, record(Event("Slow", 1)))])
    assert await asyncio.wait_for(handler.dispatch(), 5) == 1
    (row,) = await handler.inbox.rows(EVENT)
    assert row.state == "pending" and row.attempts == 1
    assert "0.2" in row.last_error and "'Slow'" in row.last_error


async def test_a_hanging_command_handler_gets_a_system_error_reply(pool):
    async def hangs(request: Request) -> None:
        async with pool.connection() as conn:
            await conn.execute("CREATE TABLE hanging_trace (x INTEGER)")
        await asyncio.sleep(30)

    handler = CommandHandler(pool, {"Slow": hangs}, handler_timeout=0.2, **FAST)
    await handler.setup()
    command = Command("Slow", 1, reply_topic="ClientReply")
    await handler.inbox.store([(COMMAND, record(command))])
    assert await asyncio.wait_for(handler.dispatch(), 5) == 1
    (reply,) = await replies(pool)
    assert reply.status is CommandStatus.SYSTEM_ERROR
    assert "0.2" in reply.data
    async with pool.connection() as conn:  # the handler's writes were undone
        await conn.execute("CREATE TABLE hanging_trace (x INTEGER)")


# --- reply topics ----------------------------------------------------------------


@pytest.mark.parametrize(
    "topic",
    ["OrderReply", "OrderReply-0a1b2c3d4e5f", "compatReply1a2b", "tillReply-test-1a"],
)
def test_reply_topics_are_recognised(topic):

    assert is_reply_topic(topic)


@pytest.mark.parametrize(
    "topic", ["CreateOrder", "Reply", "Order Reply", "ShopReplies", "", None]
)
def test_other_topics_are_not_reply_topics(topic):

    assert not is_reply_topic(topic)


async def test_a_command_asking_for_a_reply_on_a_non_reply_topic_is_parked(pool):
    calls: list[str] = []

    async def pay(request: Request) -> str:
        calls.append("pay")
        return "paid"

    handler = CommandHandler(pool, {"Pay": pay}, **FAST)
    await handler.setup()
    # The reply would land on another service's command topic.
    command = Command("Pay", 1, reply_topic="DeleteAccount")
    await handler.inbox.store([(COMMAND, record(command))])
    assert await handler.dispatch() == 1
    assert calls == []
    assert await replies(pool) == []
    (row,) = await handler.inbox.rows(COMMAND)
    assert row.state == "parked" and "'DeleteAccount'" in row.last_error


async def test_sending_a_command_with_a_non_reply_topic_is_refused(pool):

    broker = CommandBroker(pool, service_name="client")
    with pytest.raises(MinosMessageException, match="DeleteAccount"):
        await broker.send(1, "Pay", reply_topic="DeleteAccount")


# --- records too large ------------------------------------------------------------


async def test_a_message_over_the_size_limit_is_refused_at_send(pool):

    broker = EventBroker(pool, max_message_bytes=1000)
    with pytest.raises(MinosMessageException, match="1000"):
        await broker.send("x" * 2000, "Big")
    await broker.send("x" * 10, "Small")
    assert await broker.outbox.count() == 1


def test_the_default_size_limit_is_one_mebibyte(tmp_path):

    broker = EventBroker(database_pool({"path": str(tmp_path / "q.sqlite3")}))
    assert broker.max_message_bytes == 2**20


async def test_a_reply_over_the_size_limit_becomes_a_system_error_reply(pool):

    async def big(request: Request) -> str:
        return "y" * 5000

    reply_broker = CommandReplyBroker(pool, max_message_bytes=2000)
    handler = CommandHandler(pool, {"Big": big}, reply_broker=reply_broker, **FAST)
    await handler.setup()
    await handler.inbox.store(
        [(COMMAND, record(Command("Big", 1, reply_topic="ClientReply")))]
    )
    assert await handler.dispatch() == 1
    (reply,) = await replies(pool)
    assert reply.status is CommandStatus.SYSTEM_ERROR
    assert "2000" in reply.data


async def test_a_record_the_broker_refuses_for_good_is_parked_at_once(pool):

    transport = InMemoryTransport(f"small-{uuid.uuid4().hex}", max_record_bytes=500)
    producer = Producer(pool, transport, retry=5, backoff=0.01)
    broker = EventBroker(pool)
    await broker.send("z" * 1000, "Huge")
    await broker.send("z", "Tiny")
    assert await producer.dispatch() == 2
    (parked,) = await producer.parked()
    assert parked.topic == "Huge" and parked.attempts == 1
    assert "500" in parked.last_error
    assert len(transport.records("Tiny")) == 1
    await transport.destroy()


# --- outbox leases ------------------------------------------------------------------


def test_the_default_outbox_lease_is_short(tmp_path):

    pool = database_pool({"path": str(tmp_path / "q.sqlite3")})
    assert Producer(pool, InMemoryTransport(unique_name())).lease <= 15


def unique_name() -> str:
    return f"lease-{uuid.uuid4().hex}"


async def test_the_lease_is_renewed_while_a_slow_publish_runs(pool):

    class Slow(InMemoryTransport):
        async def publish(self, records):
            await asyncio.sleep(0.8)
            return await super().publish(records)

    transport = Slow(unique_name())
    producer = Producer(pool, transport, lease=0.3)
    await EventBroker(pool).send(1, "Once")
    task = asyncio.create_task(producer.dispatch())
    await asyncio.sleep(0.5)  # past the first lease, publish still running
    assert await Outbox(pool).claim(10, owner="other", lease=5) == []
    assert await task == 1
    assert len(transport.records("Once")) == 1
    await transport.destroy()
