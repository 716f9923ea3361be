"""Loading config.yml: the seed's file verbatim, sections, defaults and lookups."""

from __future__ import annotations

from pathlib import Path

import pytest

from minos.common import (
    MinosConfig,
    MinosConfigException,
    MinosSetup,
    PostgreSqlPool,
)

DATA = Path(__file__).parent / "data"
SEED = DATA / "exam-config.yml"

SEED_INJECTIONS = {
    "postgresql_pool": "minos.common.PostgreSqlPool",
    "command_broker": "minos.networks.CommandBroker",
    "command_reply_broker": "minos.networks.CommandReplyBroker",
    "event_broker": "minos.networks.EventBroker",
    "consumer": "minos.networks.Consumer",
    "dynamic_handler_pool": "minos.networks.DynamicHandlerPool",
    "repository": "minos.common.PostgreSqlRepository",
    "saga_manager": "minos.saga.SagaManager",
    "snapshot": "minos.common.PostgreSqlSnapshot",
    "query_repository": "src.queries.ExamQueryRepository",
}
SEED_SERVICES = [
    "minos.networks.ConsumerService",
    "minos.networks.CommandHandlerService",
    "minos.networks.CommandReplyHandlerService",
    "minos.networks.EventHandlerService",
    "minos.networks.RestService",
    "minos.networks.SnapshotService",
    "minos.networks.ProducerService",
]
EXAM_DB = {
    "database": "exam_db",
    "user": "minos",
    "password": "min0s",
    "host": "localhost",
    "port": 5432,
}


@pytest.fixture
def seed() -> MinosConfig:
    return MinosConfig(SEED, with_environment=False)


@pytest.fixture(autouse=True)
def no_current_config():
    previous = MinosConfig.set_current(None)
    yield
    MinosConfig.set_current(previous)


def test_seed_file_is_the_seed_verbatim():
    text = SEED.read_text(encoding="utf-8")
    assert text.startswith("# config.yml\nservice:\n  name: exam\n")
    assert "# discovery: minos.networks.DiscoveryConnector" in text


def test_seed_service_section(seed: MinosConfig):
    assert seed.service.name == "exam"
    assert seed.service.aggregate == "src.aggregates.Exam"
    assert seed.service.injections == SEED_INJECTIONS
    assert list(seed.service.injections) == list(SEED_INJECTIONS)
    assert seed.service.services == SEED_SERVICES


def test_seed_rest_and_broker_sections(seed: MinosConfig):
    assert (seed.rest.host, seed.rest.port) == ("0.0.0.0", 8082)
    assert isinstance(seed.rest.port, int)
    assert (seed.broker.host, seed.broker.port) == ("localhost", 9092)
    queue = seed.broker.queue
    assert queue._asdict() == {**EXAM_DB, "records": 1000, "retry": 2}
    assert isinstance(queue.records, int) and isinstance(queue.retry, int)
    assert queue.port == 5432 and queue.path is None


def test_seed_database_sections(seed: MinosConfig):
    assert seed.repository._asdict() == EXAM_DB
    assert seed.snapshot._asdict() == EXAM_DB
    assert seed.repository.port == 5432
    assert seed.repository.path is None


def test_seed_optional_sections(seed: MinosConfig):
    assert seed.queries.service == "src.queries.ExamQueryService"
    assert seed.commands.service == "src.commands.ExamCommandService"
    assert seed.events.service is None
    assert not seed.events
    assert seed.saga.storage.path == "./exam.lmdb"
    assert not seed.discovery
    assert (seed.discovery.client, seed.discovery.host, seed.discovery.port) == (
        None,
        None,
        None,
    )
    assert seed._asdict()["discovery"] == {}


def test_seed_as_plain_dict(seed: MinosConfig):
    data = seed._asdict()
    assert data["service"]["injections"] == SEED_INJECTIONS
    assert data["broker"]["queue"]["records"] == 1000
    assert data["saga"] == {"storage": {"path": "./exam.lmdb"}}


def test_seed_injection_imports_lazily(seed: MinosConfig):
    assert seed.import_object("service.injections.postgresql_pool") is PostgreSqlPool


def test_from_a_mapping_and_a_string_path():
    config = MinosConfig({"service": {"name": "tiny"}}, with_environment=False)
    assert config.source == "<mapping>"
    assert config.service.name == "tiny"
    assert config.service.injections == {}
    assert config.service.services == []
    assert config.service.aggregate is None
    assert MinosConfig(str(SEED), with_environment=False).service.name == "exam"


def test_sqlite_database_sections():
    config = MinosConfig(
        {
            "service": {"name": "exam"},
            "repository": {"path": "./exam.sqlite3"},
            "broker": {"queue": {"path": "./exam.sqlite3", "records": 10}},
        },
        with_environment=False,
    )
    assert config.repository._asdict() == {"path": "./exam.sqlite3"}
    assert config.repository.host is None
    assert config.broker.queue._asdict() == {
        "path": "./exam.sqlite3",
        "records": 10,
        "retry": 2,
    }
    assert config.broker.host is None


def test_postgresql_defaults():
    config = MinosConfig(
        {"service": {"name": "exam"}, "snapshot": {"database": "exam_db"}},
        with_environment=False,
    )
    assert config.snapshot._asdict() == {
        "database": "exam_db",
        "user": None,
        "password": None,
        "host": "localhost",
        "port": 5432,
    }


def test_unknown_sections_are_kept():
    config = MinosConfig(
        {"service": {"name": "exam", "owner": "team"}, "custom": {"depth": {"n": 1}}},
        with_environment=False,
    )
    assert config.custom.depth.n == 1
    assert config.custom._asdict() == {"depth": {"n": 1}}
    assert config.service.owner == "team"


def test_missing_section_is_a_clear_error():
    config = MinosConfig({"service": {"name": "exam"}}, with_environment=False)
    assert not config.repository
    assert "repository" not in config
    with pytest.raises(MinosConfigException, match=r"<mapping>: repository: section"):
        config.repository._asdict()
    with pytest.raises(MinosConfigException, match="MINOS_REPOSITORY_"):
        _ = config.repository.host


def test_get_by_key_path(seed: MinosConfig):
    assert seed.get("broker.queue.port") == 5432
    assert seed.get("service.services[4]") == "minos.networks.RestService"
    with pytest.raises(MinosConfigException, match="exam-config.yml: rest.nope: no"):
        seed.get("rest.nope")


class _Probe(MinosSetup):
    def __init__(self, config: MinosConfig) -> None:
        super().__init__()
        self.config = config

    @classmethod
    def _from_config(cls, *args, config: MinosConfig, **kwargs) -> _Probe:
        return cls(config)


def test_current_config(seed: MinosConfig):
    with pytest.raises(MinosConfigException, match="no current configuration"):
        MinosConfig.current()
    with seed:
        assert MinosConfig.current() is seed
        assert _Probe.from_config(None).config is seed
    assert _Probe.from_config(str(SEED)).config.service.name == "exam"
    with pytest.raises(MinosConfigException):
        MinosConfig.current()
