"""The exam microservice on the embedded default: SQLite and the in-process
broker, no server at all. The same code as on PostgreSQL and Kafka; only the
config file differs."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import aiohttp
import pytest
import yaml

from testing.harness import free_port
from testing.messaging import eventually
from testing.services import ServiceProcess

EXAMPLE = Path(__file__).parents[1]


def test_embedded_differs_from_the_seed_config_in_storage_and_broker_only():
    seed = yaml.safe_load((EXAMPLE / "config.yml").read_text())
    embedded = yaml.safe_load((EXAMPLE / "embedded.yml").read_text())
    for section in ("queries", "commands"):
        assert embedded[section] == seed[section]
    assert embedded["service"]["name"] == seed["service"]["name"]
    same_code = {"query_repository", "command_broker", "event_broker", "consumer"}
    for name in same_code:
        assert (
            embedded["service"]["injections"][name]
            == seed["service"]["injections"][name]
        )
    assert "host" not in embedded["broker"]
    assert set(embedded["repository"]) == {"path"}


@pytest.fixture
def embedded(tmp_path):
    directory = tmp_path / "exam"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns("tests", "data"))
    port = free_port()
    process = ServiceProcess(
        directory, {"MINOS_REST_PORT": str(port)}, config="embedded.yml"
    )
    process.start(wait_port=port)
    yield {"process": process, "url": f"http://127.0.0.1:{port}", "port": port}
    process.kill()


async def test_embedded_exam_keeps_its_data_across_restarts(embedded):
    url, process = embedded["url"], embedded["process"]
    body = {"title": "Physics", "subject": "science", "duration": 60}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/exams", json=body) as response:
            assert response.status == 200, await response.text()
            exam = (await response.json())["uuid"]

        async def listed() -> bool:
            async with http.get(f"{url}/exams/{exam}") as response:
                return response.status == 200

        await eventually(listed, within=15)

        assert process.stop() == 0, process.output()
        process.start(wait_port=embedded["port"])

        # The read model and the aggregate itself come back from the file.
        async with http.get(f"{url}/exams/{exam}") as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["title"] == "Physics"
        async with http.put(f"{url}/exams/{exam}", json={"duration": 75}) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["version"] == 2

        async def updated() -> bool:
            async with http.get(f"{url}/exams/{exam}") as response:
                return (await response.json())["duration"] == 75

        await eventually(updated, within=15)

    assert process.stop() == 0, process.output()
    database = process.directory / "data" / "exam.sqlite3"
    with sqlite3.connect(database) as conn:
        history = conn.execute(
            "SELECT action, version FROM aggregate_event ORDER BY id"
        ).fetchall()
    assert history == [("create", 1), ("update", 2)]
