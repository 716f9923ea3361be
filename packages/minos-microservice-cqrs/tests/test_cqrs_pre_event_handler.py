"""PreEventHandler: references in incoming events become the owners' models."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from uuid import UUID, uuid4

from minos.common import Action, AggregateDiff, AggregateRef, FieldDiff, ModelRef
from minos.common.aggregate.diffs import FieldDiffContainer
from minos.cqrs import PreEventHandler
from minos.networks import CommandReply, CommandStatus


class Book(AggregateRef):
    title: str


class Reader(AggregateRef):
    name: str


class Owner:
    """Answers ``Get<Name>s`` commands like the owning services would."""

    def __init__(self, books: dict[UUID, Book], fail: set[str] = frozenset()):
        self.books = books
        self.fail = fail
        self.sent: list[tuple[str, object]] = []
        self.topic = "tests-reply"
        self._reply: CommandReply | None = None

    async def send(self, data, topic, *, reply_topic=None, user=None, **kwargs):
        self.sent.append((topic, data))
        assert reply_topic == self.topic
        if topic in self.fail:
            self._reply = CommandReply(reply_topic, "boom", status=CommandStatus.ERROR)
        else:
            found = [self.books[u] for u in data["uuids"] if u in self.books]
            self._reply = CommandReply(reply_topic, found, status=CommandStatus.SUCCESS)
        return uuid4()

    @contextlib.asynccontextmanager
    async def acquire(self):
        yield self

    async def get_one(self, **kwargs):
        return self._reply


def loan_diff(book, readers) -> AggregateDiff:
    fields = [
        FieldDiff("book", book, hint=ModelRef[Book]),
        FieldDiff("readers", readers, hint=list[ModelRef[Reader] | None]),
        FieldDiff("note", "hello", hint=str),
    ]
    return AggregateDiff(
        uuid4(),
        "loans.Loan",
        1,
        Action.CREATE,
        datetime.now(tz=UTC),
        FieldDiffContainer(fields),
    )


async def test_references_are_replaced_by_models():
    dune = Book(title="Dune", uuid=uuid4())
    owner = Owner({dune.uuid: dune}, fail={"GetReaders"})
    reader = uuid4()
    diff = loan_diff(dune.uuid, [reader, None])

    resolved = await PreEventHandler.handle(diff, broker=owner, pool=owner)

    assert resolved.get_one("book").title == "Dune"
    assert resolved.get_one("readers") == [reader, None]  # its owner failed
    assert resolved.get_one("note") == "hello"
    assert (resolved.uuid, resolved.version) == (diff.uuid, diff.version)
    assert sorted(topic for topic, _ in owner.sent) == ["GetBooks", "GetReaders"]
    assert dict(owner.sent)["GetBooks"] == {"uuids": [dune.uuid]}


async def test_a_diff_without_references_is_returned_as_is():
    owner = Owner({})
    diff = AggregateDiff(
        uuid4(),
        "x.Thing",
        1,
        Action.CREATE,
        datetime.now(tz=UTC),
        FieldDiffContainer([FieldDiff("name", "n", hint=str)]),
    )
    assert await PreEventHandler.handle(diff, broker=owner, pool=owner) is diff
    assert await PreEventHandler.handle("not a diff", broker=owner, pool=owner) == (
        "not a diff"
    )
    assert owner.sent == []


async def test_no_injections_leave_references_unresolved(caplog):
    book = uuid4()
    resolved = await PreEventHandler.handle(loan_diff(book, []))
    assert resolved.get_one("book") == book
    assert "no command_broker" in caplog.text
