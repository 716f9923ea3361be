"""The client code of CLIENT_EXAMPLE.md, unchanged, as two running services.

``catalog`` owns books and a read model fed by its events; ``loans`` lends
them through a saga that reserves a copy in ``catalog``. Both run with
``minos run`` on real PostgreSQL and a Kafka-protocol broker.
"""

from __future__ import annotations

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

HERE = Path(__file__).parent


@pytest.fixture
def services(tmp_path, postgres_database_factory, kafka_broker_factory):
    broker = kafka_broker_factory()
    running = {}
    for name in ("catalog", "loans"):
        directory = tmp_path / name
        shutil.copytree(HERE / name, directory, ignore=shutil.ignore_patterns("*.lmdb"))
        settings = postgres_database_factory(name)
        port = free_port()
        process = ServiceProcess(
            directory, service_env(settings, broker.bootstrap, port)
        )
        running[name] = {
            "process": process,
            "url": f"http://127.0.0.1:{port}",
            "port": port,
            "settings": settings,
        }
    for entry in running.values():
        entry["process"].start(wait_port=entry["port"])
    running["bootstrap"] = broker.bootstrap
    yield running
    for name in ("catalog", "loans"):
        running[name]["process"].kill()


async def create_book_by_command(bootstrap: str, title: str, copies: int) -> dict:
    host, port = bootstrap.rsplit(":", 1)
    transport = KafkaTransport(host, int(port))
    reply_topic = f"compatReply{uuid.uuid4().hex[:8]}"
    replies = await transport.subscribe([reply_topic], group=None)
    received: list[CommandReply] = []
    try:
        content = {"title": title, "authors": [{"name": "Anon"}], "copies": copies}
        command = Command("CreateBook", content, reply_topic=reply_topic)
        assert await transport.publish(
            [OutgoingRecord("CreateBook", command.avro_bytes)]
        ) == [None]

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
    return reply.data


async def test_catalog_and_loans(services):
    catalog, loans = services["catalog"]["url"], services["loans"]["url"]
    async with aiohttp.ClientSession() as http:
        dune_body = {
            "title": "Dune",
            "authors": [{"name": "Frank Herbert", "born": 1920}],
            "copies": 1,
        }
        async with http.post(f"{catalog}/books", json=dune_body) as response:
            assert response.status == 200, await response.text()
            dune = await response.json()
        assert dune["authors"] == [{"name": "Frank Herbert", "born": 1920}]
        assert (dune["copies"], dune["lent"]) == (1, 0)
        uuid.UUID(dune["uuid"])  # rendered as a string

        solaris = await create_book_by_command(services["bootstrap"], "Solaris", 2)

        async def read_model() -> dict[str, dict]:
            async with http.get(f"{catalog}/books") as response:
                assert response.status == 200
                return {row["title"]: row for row in await response.json()}

        async def both_listed() -> bool:
            return {"Dune", "Solaris"} <= set(await read_model())

        await eventually(both_listed, within=60)
        assert (await read_model())["Dune"]["available"] == 1

        # A loan that succeeds: the saga reserves the only copy.
        loan_body = {"book": dune["uuid"], "reader": "ana"}
        async with http.post(f"{loans}/loans", json=loan_body) as response:
            assert response.status == 200, await response.text()
            loan = await response.json()
        assert loan["reader"] == "ana"
        assert str(loan["book"]) == dune["uuid"] or loan["book"]["uuid"] == dune["uuid"]

        async def dune_lent() -> bool:
            return (await read_model())["Dune"]["available"] == 0

        await eventually(dune_lent, within=60)

        # A loan that fails: no copy left, the saga is compensated, 400.
        other = {"book": dune["uuid"], "reader": "bo"}
        async with http.post(f"{loans}/loans", json=other) as response:
            assert response.status == 400
            assert (await response.json())["error"] == "The book could not be lent."

        # Deleting: a known book, then one that does not exist.
        async with http.delete(f"{catalog}/books/{solaris['uuid']}") as response:
            assert response.status in (200, 204), await response.text()
        async with http.delete(f"{catalog}/books/{uuid.uuid4()}") as response:
            assert response.status == 400
            assert (await response.json())["error"] == "The book does not exist."

    # The failed loan reserved nothing and released nothing: one copy lent.
    pool = database_pool(services["catalog"]["settings"])
    try:
        async with pool.connection() as conn:
            lent_changes = await conn.fetchall(
                "SELECT action, version FROM aggregate_event "
                "WHERE aggregate_uuid = %s ORDER BY id",
                (uuid.UUID(dune["uuid"]),),
            )
    finally:
        await close_database_pools()
    assert lent_changes == [("create", 1), ("update", 2)]

    for name in ("catalog", "loans"):
        process = services[name]["process"]
        assert process.stop() == 0, process.output()
