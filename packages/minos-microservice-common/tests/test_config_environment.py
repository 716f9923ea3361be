"""MINOS_* environment variables override config.yml, converted to each key's type."""

from __future__ import annotations

from pathlib import Path

import pytest

from minos.common import MinosConfig, MinosConfigException

SEED = Path(__file__).parent / "data" / "exam-config.yml"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch):
    import os

    for name in list(os.environ):
        if name.startswith("MINOS_") and not name.startswith("MINOS_TEST_"):
            monkeypatch.delenv(name)


def test_string_override(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MINOS_REPOSITORY_HOST", "127.0.0.2")
    monkeypatch.setenv("MINOS_SERVICE_NAME", "exam-blue")
    config = MinosConfig(SEED)
    assert config.repository.host == "127.0.0.2"
    assert config.repository._asdict()["host"] == "127.0.0.2"
    assert config.snapshot.host == "localhost"
    assert config.service.name == "exam-blue"


def test_integer_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MINOS_REST_PORT", "9000")
    monkeypatch.setenv("MINOS_BROKER_QUEUE_PORT", "6543")
    monkeypatch.setenv("MINOS_BROKER_QUEUE_RECORDS", "50")
    config = MinosConfig(SEED)
    assert config.rest.port == 9000
    assert config.broker.queue.port == 6543
    assert config.broker.queue.records == 50
    assert config.broker.port == 9092
    assert config.repository.port == 5432


def test_dotted_path_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MINOS_SERVICE_INJECTIONS_REPOSITORY", "minos.common.Other")
    monkeypatch.setenv("MINOS_SERVICE_SERVICES", "a.One, b.Two")
    monkeypatch.setenv("MINOS_EVENTS_SERVICE", "src.events.ExamEventService")
    config = MinosConfig(SEED)
    assert config.service.injections["repository"] == "minos.common.Other"
    assert config.service.injections["snapshot"] == "minos.common.PostgreSqlSnapshot"
    assert config.service.services == ["a.One", "b.Two"]
    assert config.events.service == "src.events.ExamEventService"


def test_path_override_switches_a_database_to_sqlite(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MINOS_REPOSITORY_PATH", "./exam.sqlite3")
    config = MinosConfig(SEED)
    assert config.repository._asdict() == {"path": "./exam.sqlite3"}
    assert config.snapshot.database == "exam_db"


def test_override_creates_an_absent_section(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MINOS_DISCOVERY_HOST", "127.0.0.1")
    monkeypatch.setenv("MINOS_DISCOVERY_PORT", "5567")
    config = MinosConfig(SEED)
    assert config.discovery._asdict() == {"host": "127.0.0.1", "port": 5567}
    assert config.discovery


def test_environment_can_be_ignored_or_given(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MINOS_REST_PORT", "9000")
    assert MinosConfig(SEED, with_environment=False).rest.port == 8082
    given = MinosConfig(SEED, environ={"MINOS_REST_HOST": "127.0.0.1"})
    assert (given.rest.host, given.rest.port) == ("127.0.0.1", 8082)


def test_bad_integer_override_names_file_key_and_variable(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("MINOS_BROKER_QUEUE_PORT", "five")
    with pytest.raises(MinosConfigException) as info:
        MinosConfig(SEED)
    message = str(info.value)
    assert message.startswith(f"{SEED}: broker.queue.port: expected an integer")
    assert "'five'" in message and "MINOS_BROKER_QUEUE_PORT" in message


def test_conflicting_database_override(monkeypatch: pytest.MonkeyPatch):
    config = {"service": {"name": "x"}, "repository": {"path": "./x.sqlite3"}}
    monkeypatch.setenv("MINOS_REPOSITORY_HOST", "127.0.0.1")
    with pytest.raises(
        MinosConfigException, match=r"<mapping>: repository: holds both"
    ):
        MinosConfig(config)
