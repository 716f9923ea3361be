"""The exam microservice, started with the seed's config.yml as a user would.

Real PostgreSQL and a real Kafka-protocol broker; the config file is the
seed's, unchanged: only ``MINOS_*`` variables point it at the test servers.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path

import aiohttp
import pytest

from minos.common import close_database_pools, database_pool
from minos.networks import (
    Command,
    CommandReply,
    CommandStatus,
    KafkaTransport,
    OutgoingRecord,
)
from testing.harness import free_port
from testing.messaging import eventually
from testing.services import ServiceProcess, service_env

EXAMPLE = Path(__file__).parents[1]
ALGEBRA = {
    "title": "Algebra I",
    "subject": "maths",
    "duration": 90,
    "questions": [{"text": "2 + 2?", "choices": ["3", "4"], "answer": 1}],
}


@pytest.fixture
def exam(tmp_path, postgres_database_factory, kafka_broker_factory):
    """A copy of the example, its own database and its own broker."""
    directory = tmp_path / "exam"
    shutil.copytree(
        EXAMPLE, directory, ignore=shutil.ignore_patterns("tests", "*.lmdb")
    )
    assert (directory / "config.yml").read_bytes() == (
        EXAMPLE / "config.yml"
    ).read_bytes()
    settings = postgres_database_factory("exam")
    broker = kafka_broker_factory()
    port = free_port()
    process = ServiceProcess(directory, service_env(settings, broker.bootstrap, port))
    process.start(wait_port=port)
    yield {
        "process": process,
        "url": f"http://127.0.0.1:{port}",
        "settings": settings,
        "bootstrap": broker.bootstrap,
        "port": port,
    }
    process.kill()


async def listed(session: aiohttp.ClientSession, url: str) -> dict[str, dict]:
    async with session.get(f"{url}/exams") as response:
        assert response.status == 200
        return {row["uuid"]: row for row in await response.json()}


async def test_the_exam_service_end_to_end(exam):
    url = exam["url"]
    async with aiohttp.ClientSession() as http:
        # Create over REST.
        async with http.post(f"{url}/exams", json=ALGEBRA) as response:
            assert response.status == 200, await response.text()
            created = await response.json()
        assert created["title"] == "Algebra I"
        assert created["version"] == 1
        assert created["questions"][0]["choices"] == ["3", "4"]
        algebra = created["uuid"]

        # Create with a CreateExam command sent over Kafka by another process.
        transport = _transport(exam["bootstrap"])
        reply_topic = f"examTestReply{uuid.uuid4().hex[:8]}"
        replies = await transport.subscribe([reply_topic], group=None)
        try:
            command = Command(
                "CreateExam",
                {"title": "Chemistry", "subject": "science", "duration": 45},
                reply_topic=reply_topic,
            )
            errors = await transport.publish(
                [OutgoingRecord("CreateExam", command.avro_bytes, key=b"chemistry")]
            )
            assert errors == [None]
            received: list[CommandReply] = []

            async def replied() -> bool:
                for record in await replies.poll(max_wait=0.5):
                    received.append(CommandReply.from_avro_bytes(record.value))
                return bool(received)

            await eventually(replied, within=60)
        finally:
            await replies.close()
            await transport.destroy()
        (reply,) = received
        assert reply.status == CommandStatus.SUCCESS, reply.data
        chemistry = str(reply.data["uuid"])
        assert reply.data["title"] == "Chemistry"

        # The query side sees both once their events are handled.
        async def both_listed() -> bool:
            return {algebra, chemistry} <= set(await listed(http, url))

        await eventually(both_listed, within=60)
        rows = await listed(http, url)
        assert rows[algebra]["questions"] == 1
        assert rows[chemistry]["status"] == "draft"

        # Update, and read the new version back from the query side.
        change = {"title": "Algebra II", "duration": 120, "status": "published"}
        async with http.put(f"{url}/exams/{algebra}", json=change) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["version"] == 2

        async def updated() -> bool:
            async with http.get(f"{url}/exams/{algebra}") as response:
                return (await response.json()).get("version") == 2

        await eventually(updated, within=30)
        async with http.get(f"{url}/exams/{algebra}") as response:
            row = await response.json()
        assert (row["title"], row["duration"], row["status"]) == (
            "Algebra II",
            120,
            "published",
        )

        # Delete; the read model forgets it.
        async with http.delete(f"{url}/exams/{algebra}") as response:
            assert response.status in (200, 204), await response.text()

        async def gone() -> bool:
            async with http.get(f"{url}/exams/{algebra}") as response:
                return response.status == 404

        await eventually(gone, within=30)
        assert set(await listed(http, url)) == {chemistry}

        # Bad input is answered clearly and the service keeps running.
        async with http.post(f"{url}/exams", json={"subject": "x"}) as response:
            assert response.status == 400
            assert "title" in (await response.json())["error"]
        async with http.post(
            f"{url}/exams", json={**ALGEBRA, "duration": -5}
        ) as response:
            assert response.status == 400
            assert "duration" in (await response.json())["error"]
        async with http.put(f"{url}/exams/{uuid.uuid4()}", json=change) as response:
            assert response.status == 404
        async with http.post(
            f"{url}/exams",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        ) as response:
            assert response.status == 400
        async with http.get(f"{url}/exams") as response:
            assert response.status == 200

    # The event store holds the whole history of the deleted exam.
    pool = database_pool(exam["settings"])
    try:
        async with pool.connection() as conn:
            history = await conn.fetchall(
                "SELECT action, version FROM aggregate_event "
                "WHERE aggregate_uuid = %s ORDER BY id",
                (uuid.UUID(algebra),),
            )
    finally:
        await close_database_pools()
    assert history == [("create", 1), ("update", 2), ("delete", 3)]

    assert exam["process"].stop() == 0, exam["process"].output()


def _transport(bootstrap: str) -> KafkaTransport:
    host, port = bootstrap.rsplit(":", 1)
    return KafkaTransport(host, int(port))


async def test_acknowledged_creates_survive_a_kill(exam):
    url, process = exam["url"], exam["process"]
    acknowledged: list[str] = []
    semaphore = asyncio.Semaphore(10)

    async with aiohttp.ClientSession() as http:

        async def create(index: int) -> None:
            async with semaphore:
                body = {**ALGEBRA, "title": f"Burst {index:03d}"}
                try:
                    async with http.post(f"{url}/exams", json=body) as response:
                        if response.status == 200:
                            acknowledged.append((await response.json())["uuid"])
                except aiohttp.ClientError:
                    pass  # in flight when the process died: not acknowledged

        burst = [asyncio.create_task(create(i)) for i in range(300)]

        async def some_acknowledged() -> bool:
            return len(acknowledged) >= 40

        await eventually(some_acknowledged, within=60)
        process.kill()
        await asyncio.gather(*burst)
        assert 40 <= len(acknowledged) < 300

        process.start(wait_port=exam["port"])

        async def all_listed() -> bool:
            return set(acknowledged) <= set(await listed(http, url))

        await eventually(all_listed, within=90)

    pool = database_pool(exam["settings"])
    try:
        async with pool.connection() as conn:
            creates = await conn.fetchall(
                "SELECT aggregate_uuid, COUNT(*) FROM aggregate_event "
                "WHERE action = 'create' GROUP BY aggregate_uuid"
            )
    finally:
        await close_database_pools()
    counts = {str(key): count for key, count in creates}
    assert all(counts.get(key) == 1 for key in acknowledged)
    assert process.stop() == 0, process.output()
