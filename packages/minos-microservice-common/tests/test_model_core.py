"""Construction, mapping behaviour, equality and assignment of declarative models."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import pytest

from minos.common import (
    AggregateRef,
    DeclarativeModel,
    Entity,
    EntitySet,
    MinosMalformedAttributeException,
    MinosModelAttributeException,
    MinosReqAttributeException,
    MinosTypeAttributeException,
    ModelRef,
    ModelType,
    ValueObject,
    ValueObjectSet,
    decode_value,
    encode_value,
)


class Color(str, Enum):  # noqa: UP042 - the str mix-in is what is tested
    RED = "red"
    BLUE = "blue"


class Size(Enum):
    SMALL = 1
    LARGE = 2


class Author(ValueObject):
    name: str
    born: int | None


class Book(Entity):
    title: str
    authors: list[Author]
    copies: int
    lent: int

    def __init__(self, *args: Any, copies: int = 1, lent: int = 0, **kwargs: Any):
        super().__init__(*args, copies=copies, lent=lent, **kwargs)


class Shelf(DeclarativeModel):
    """Refers to ``Inventory``, declared later in this module."""

    label: str
    stock: list[dict[str, Inventory | None]]


class Inventory(DeclarativeModel):
    count: int
    where: str | None


class Everything(DeclarativeModel):
    number: int
    ratio: float
    text: str
    flag: bool
    raw: bytes
    moment: datetime
    day: date
    clock: time
    span: timedelta
    identifier: UUID
    amount: Decimal
    color: Color
    size: Size
    numbers: list[int]
    mapping: dict[str, float]
    unique: set[str]
    maybe: str | None
    either: int | str
    anything: Any


class Tag(ValueObject):
    label: str


class Page(Entity):
    number: int


class Chapter(Entity):
    title: str
    pages: EntitySet[Page]
    tags: ValueObjectSet[Tag]


class RemoteBook(AggregateRef):
    title: str


class Loan(Entity):
    book: ModelRef[RemoteBook]
    reader: str


class Node(DeclarativeModel):
    """A recursive model."""

    name: str
    children: list[Node]


def test_positional_and_keyword_construction() -> None:
    book = Book("Dune", [Author("Frank Herbert", 1920)], copies=3)
    assert book.title == "Dune"
    assert book.authors == [Author(name="Frank Herbert", born=1920)]
    assert (book.copies, book.lent) == (3, 0)
    assert isinstance(book.uuid, UUID)


def test_mapping_behaviour() -> None:
    author = Author("Ursula", None)
    assert dict(author) == {"name": "Ursula", "born": None}
    assert list(author.keys()) == ["name", "born"]
    assert author["name"] == "Ursula"
    assert author.fields["born"].type == author.fields["born"].type
    assert author.fields["name"].value == "Ursula"


def test_forward_reference_to_a_later_class() -> None:
    shelf = Shelf("A", [{"x": Inventory(1, None), "y": None}])
    assert shelf.stock[0]["x"].count == 1
    shelf = Shelf("A", [{"x": {"count": 2, "where": "here"}}])
    assert shelf.stock[0]["x"] == Inventory(2, "here")


def test_dict_becomes_nested_model_and_str_becomes_uuid() -> None:
    uuid = uuid4()
    book = Book(str(uuid), [{"name": "A"}], uuid=str(uuid))
    assert book.uuid == uuid
    assert book.title == str(uuid)
    assert book.authors[0] == Author("A", None)


def test_wrong_type_names_the_model_and_field() -> None:
    with pytest.raises(MinosTypeAttributeException) as error:
        Book("Dune", [{"name": "A", "born": "not a year"}])
    assert "Book.authors[0]" in str(error.value)
    assert "Author.born" in str(error.value)
    assert "'not a year'" in str(error.value)


def test_missing_required_field() -> None:
    with pytest.raises(MinosReqAttributeException, match=r"Book\.title"):
        Book(authors=[])


def test_unknown_field() -> None:
    with pytest.raises(MinosMalformedAttributeException, match="'titel'"):
        Book(titel="x", authors=[])


def test_too_many_positional_values() -> None:
    with pytest.raises(MinosModelAttributeException, match="at most"):
        Author("a", 1, 2)


def test_assignment_validates() -> None:
    book = Book("Dune", [])
    book.lent += 1
    assert book.lent == 1
    with pytest.raises(MinosTypeAttributeException, match=r"Book\.lent"):
        book.lent = "many"
    assert book.lent == 1


def test_model_type_build_and_call() -> None:
    dto_type = ModelType.build(
        "BookDTO", {"uuid": UUID, "title": str, "available": int}
    )
    same = ModelType.build("BookDTO", {"uuid": UUID, "title": str, "available": int})
    assert dto_type == same
    uuid = uuid4()
    row = (uuid, "Dune", 2)
    dto = dto_type(*row)
    assert dto.available == 2
    assert dto == dto_type(uuid=uuid, title="Dune", available=2)
    assert decode_value(encode_value(dto)) == dto
