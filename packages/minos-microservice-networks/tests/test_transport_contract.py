"""One contract for every transport: the in-process one and Kafka (Tansu)."""

from __future__ import annotations

import asyncio

import pytest

from minos.networks import (
    InMemoryTransport,
    OutgoingRecord,
    TransportClosedException,
    TransportException,
    TransportUnavailableException,
    transport_from_config,
)
from testing.messaging import (
    Section,
    kafka_transport,
    make_config,
    memory_transport,
    unique,
)


@pytest.fixture(params=["memory", "kafka"])
async def transport(request):
    if request.param == "memory":
        transport = memory_transport()
    else:
        transport = kafka_transport(request.getfixturevalue("kafka_bootstrap"))
    async with transport:
        yield transport


async def poll_until(subscription, count, within=15.0):
    """Poll until ``count`` records arrived (or give up after ``within`` seconds)."""
    received = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len(received) < count and loop.time() < deadline:
        received += await subscription.poll(max_wait=0.5)
    return received


async def test_group_receives_published_records_with_keys_and_headers(transport):
    topic = unique("contract")
    async with await transport.subscribe([topic], group=unique("group")) as sub:
        results = await transport.publish(
            [
                OutgoingRecord(topic, b"one", key=b"k1", headers=(("h", b"1"),)),
                OutgoingRecord(topic, b"two", key=b"k1", headers=(("h", b"2"),)),
            ]
        )
        received = await poll_until(sub, 2)

    assert results == [None, None]
    assert [r.value for r in received] == [b"one", b"two"]
    assert [r.key for r in received] == [b"k1", b"k1"]
    assert [r.header("h") for r in received] == [b"1", b"2"]
    assert received[0].header("missing") is None
    assert {r.topic for r in received} == {topic}


async def test_records_of_one_key_keep_their_order(transport):
    topic = unique("order")
    keys = [b"a", b"b", b"c"]
    records = [
        OutgoingRecord(topic, f"{key.decode()}{i}".encode(), key=key)
        for i in range(10)
        for key in keys
    ]
    await transport.publish(records)
    async with await transport.subscribe([topic], group=unique("group")) as sub:
        received = await poll_until(sub, len(records))

    for key in keys:
        values = [r.value for r in received if r.key == key]
        assert values == [f"{key.decode()}{i}".encode() for i in range(10)]


async def test_committed_records_are_not_delivered_again_to_the_group(transport):
    topic, group = unique("commit"), unique("group")
    await transport.publish(
        [OutgoingRecord(topic, f"{i}".encode(), key=b"k") for i in range(3)]
    )

    async with await transport.subscribe([topic], group=group) as sub:
        first = await poll_until(sub, 3)
        await sub.commit(first[:2])
    async with await transport.subscribe([topic], group=group) as sub:
        again = await poll_until(sub, 1)
        await sub.commit(again)
    async with await transport.subscribe([topic], group=group) as sub:
        nothing = await sub.poll(max_wait=1.0)

    assert [r.value for r in first] == [b"0", b"1", b"2"]
    assert [r.value for r in again] == [b"2"]
    assert nothing == []


async def test_a_new_group_reads_from_the_beginning(transport):
    topic = unique("earliest")
    await transport.publish([OutgoingRecord(topic, b"before")])
    async with await transport.subscribe([topic], group=unique("group")) as sub:
        received = await poll_until(sub, 1)
    assert [r.value for r in received] == [b"before"]


async def test_a_lone_subscriber_reads_its_topic_without_a_group(transport):
    topic = unique("lone")
    async with await transport.subscribe([topic], group=None) as sub:
        await transport.publish([OutgoingRecord(topic, b"reply")])
        received = await poll_until(sub, 1)
        await sub.commit(received)  # nothing to commit without a group
    await transport.delete_topics([topic])
    assert [r.value for r in received] == [b"reply"]


async def test_poll_returns_empty_after_its_timeout(transport):
    async with await transport.subscribe([unique("quiet")], group=None) as sub:
        assert await sub.poll(max_wait=0.2) == []


async def test_a_closed_subscription_refuses_to_poll(transport):
    sub = await transport.subscribe([unique("closed")], group=unique("group"))
    await sub.close()
    await sub.close()
    with pytest.raises(TransportClosedException, match="closed"):
        await sub.poll(max_wait=0.1)


async def test_publishing_nothing_is_a_no_op(transport):
    assert await transport.publish([]) == []


async def test_memory_outage_raises_unavailable_and_recovers():
    transport = memory_transport()
    topic = unique("outage")
    sub = await transport.subscribe([topic], group="g")
    transport.set_available(False)
    with pytest.raises(TransportUnavailableException, match="unavailable"):
        await transport.publish([OutgoingRecord(topic, b"x")])
    assert await sub.poll(max_wait=0.1) == []
    transport.set_available(True)
    await transport.publish([OutgoingRecord(topic, b"x")])
    assert [r.value for r in await sub.poll(max_wait=1)] == [b"x"]
    assert [r.value for r in transport.records(topic)] == [b"x"]


async def test_memory_group_members_share_the_work_and_uncommitted_is_redelivered():
    transport = memory_transport()
    topic = unique("share")
    first = await transport.subscribe([topic], group="g")
    second = await transport.subscribe([topic], group="g")
    await transport.publish([OutgoingRecord(topic, b"1"), OutgoingRecord(topic, b"2")])
    taken = await first.poll(max_wait=1, max_records=1)
    other = await second.poll(max_wait=1)
    assert [r.value for r in taken + other] == [b"1", b"2"]
    await second.commit(other)
    await first.close()  # "1" was never committed... but "2" was, after it
    await second.close()
    third = await transport.subscribe([topic], group="g")
    assert await third.poll(max_wait=0.2) == []


async def test_memory_transport_is_shared_by_name():
    assert InMemoryTransport.shared("x-shared") is InMemoryTransport.shared("x-shared")
    assert InMemoryTransport.shared("x-shared") is not InMemoryTransport.shared("y")


async def test_kafka_is_unavailable_when_nothing_listens():
    from testing.harness import free_port

    transport = kafka_transport(f"127.0.0.1:{free_port()}", request_timeout=1.0)
    with pytest.raises(TransportUnavailableException, match="Kafka broker"):
        await transport.publish([OutgoingRecord("t", b"x")])
    with pytest.raises(TransportUnavailableException):
        await transport.subscribe(["t"], group="g")
    await transport.destroy()


async def test_kafka_rejects_bad_records_one_by_one(kafka_bootstrap):
    transport = kafka_transport(kafka_bootstrap)
    good = unique("good")
    async with transport:
        results = await transport.publish(
            [
                OutgoingRecord("bad topic!", b"x"),
                OutgoingRecord(good, b"y"),
                OutgoingRecord(good, b"z" * 2_000_000),
            ]
        )
        with pytest.raises(TransportException, match="not a valid Kafka topic"):
            await transport.subscribe(["bad topic!"], group="g")
    assert results[1] is None
    assert "not a valid Kafka topic name" in str(results[0])
    assert "MessageSizeTooLarge" in type(results[2]).__name__


def test_the_configuration_chooses_the_transport(tmp_path):
    memory = transport_from_config(make_config("svc", {"path": str(tmp_path)}))
    kafka = transport_from_config(
        make_config("svc", {"path": "x"}, bootstrap="127.0.0.1:9")
    )
    missing = transport_from_config(Section(service=Section(name="svc")))
    assert memory is InMemoryTransport.shared()
    assert missing is InMemoryTransport.shared()
    assert kafka.bootstrap == "127.0.0.1:9"
    assert kafka.client_id == "svc"
