"""Aggregates find their repository, snapshot and broker in the container."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
import yaml

from minos.common import (
    Aggregate,
    Condition,
    DependencyInjector,
    MinosBroker,
    MinosConfig,
    MinosRepositoryNotProvidedException,
    MinosSnapshotNotProvidedException,
    PostgreSqlRepository,
    PostgreSqlSnapshot,
    SqliteRepository,
    SqliteSnapshot,
    close_database_pools,
)


class Loan(Aggregate):
    book: UUID
    reader: str


class RecordingBroker(MinosBroker):
    """Stands for the event broker the networks package provides."""

    sent: list[str] = []

    @classmethod
    def _from_config(cls, *args, config, **kwargs):
        return cls()

    async def send(self, data, topic, *, key=None, **kwargs) -> UUID:
        self.sent.append(topic)
        return uuid4()


def write_config(tmp_path, sections):
    path = tmp_path / "config.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "service": {
                    "name": "loans",
                    "injections": {
                        "repository": "minos.common.PostgreSqlRepository",
                        "snapshot": "minos.common.PostgreSqlSnapshot",
                    },
                },
                **sections,
            }
        )
    )
    return MinosConfig(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def config(request, tmp_path):
    if request.param == "sqlite":
        database = {"path": str(tmp_path / "loans.sqlite3")}
    else:
        database = dict(request.getfixturevalue("fresh_postgres_settings"))
    return write_config(tmp_path, {"repository": database, "snapshot": database})


async def test_wired_container_provides_every_collaborator(config):
    RecordingBroker.sent = []
    injector = DependencyInjector(
        config,
        injections={
            "repository": "minos.common.PostgreSqlRepository",
            "snapshot": "minos.common.PostgreSqlSnapshot",
            "event_broker": RecordingBroker,
        },
    )
    await injector.wire()
    try:
        repository = injector.get("repository")
        snapshot = injector.get("snapshot")
        backend = (
            SqliteRepository if "path" in config.repository else PostgreSqlRepository
        )
        assert isinstance(repository, backend)
        assert isinstance(snapshot, (SqliteSnapshot, PostgreSqlSnapshot))
        assert snapshot.repository is repository
        assert snapshot.joins_transaction_of(repository)

        book = uuid4()
        loan = await Loan.create(book=str(book), reader="ana")
        loan.reader = "bea"
        await loan.save()
        again = await Loan.get(loan.uuid)
        assert (again.book, again.reader, again.version) == (book, "bea", 2)
        assert [x.uuid async for x in Loan.find(Condition.EQUAL("book", book))] == [
            loan.uuid
        ]
        assert RecordingBroker.sent == [
            "LoanCreated",
            "LoanUpdated",
            "LoanUpdated.reader",
        ]
    finally:
        await injector.unwire()
        await close_database_pools()

    with pytest.raises(MinosRepositoryNotProvidedException, match="service.injections"):
        await Loan.create(book=uuid4(), reader="cai")
    with pytest.raises(MinosSnapshotNotProvidedException, match="'snapshot'"):
        await Loan.get(uuid4())
