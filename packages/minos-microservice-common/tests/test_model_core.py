"""Construction, mapping behaviour, equality and assignment of declarative models."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest

from minos.common import (
    AggregateRef,
    BucketModel,
    DeclarativeModel,
    DynamicModel,
    Entity,
    Field,
    MinosAttributeValidationException,
    MinosImmutableAttributeException,
    MinosMalformedAttributeException,
    MinosModelAttributeException,
    MinosParseAttributeException,
    MinosReqAttributeException,
    MinosTypeAttributeException,
    ModelType,
    ValueObject,
    decode_value,
    encode_value,
    field,
)


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


class RemoteBook(AggregateRef):
    title: str


class Shelf(DeclarativeModel):
    """Refers to ``Inventory``, declared later in this module."""

    label: str
    stock: list[dict[str, Inventory | None]]


class Inventory(DeclarativeModel):
    count: int
    where: str | None


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


def test_repr_shows_field_values() -> None:
    assert repr(Author("Ursula", 1929)) == "Author(name='Ursula', born=1929)"


def test_equality_by_type_name_and_values() -> None:
    assert Author("A", 1) == Author("A", 1)
    assert Author("A", 1) != Author("A", 2)
    assert Inventory(1, None) != Author("A", None)
    assert Author("A", 1) != {"name": "A", "born": 1}


def test_value_objects_are_immutable_and_hashable() -> None:
    author = Author("A", 1)
    with pytest.raises(MinosImmutableAttributeException, match=r"Author\.name"):
        author.name = "B"
    with pytest.raises(AttributeError):
        del author.born
    assert hash(author) == hash(Author("A", 1))
    assert len({author, Author("A", 1), Author("B", 1)}) == 2


def test_mutable_models_are_not_hashable() -> None:
    with pytest.raises(TypeError):
        hash(Inventory(1, None))


def test_entity_uuid_is_generated_and_keyword_only() -> None:
    one, other = Book("A", []), Book("A", [])
    assert one.uuid != other.uuid
    uuid = uuid4()
    assert Book("A", [], uuid=uuid).uuid == uuid
    assert list(Book.field_types()) == ["uuid", "title", "authors", "copies", "lent"]


def test_aggregate_ref_ignores_fields_it_does_not_declare() -> None:
    uuid = uuid4()
    ref = RemoteBook.from_dict(
        {"uuid": str(uuid), "version": 3, "title": "Dune", "copies": 2}
    )
    assert (ref.uuid, ref.version, ref.title) == (uuid, 3, "Dune")


def test_defaults_optional_and_mutable_defaults_are_copied() -> None:
    class Basket(DeclarativeModel):
        owner: str = "nobody"
        items: list[str] = []
        note: str | None

    one, other = Basket(), Basket()
    one.items.append("apple")
    assert other.items == []
    assert (one.owner, one.note) == ("nobody", None)


def test_invalid_default_is_reported_when_first_used() -> None:
    class Broken(DeclarativeModel):
        count: int = "three"

    with pytest.raises(MinosTypeAttributeException, match=r"Broken\.count"):
        Broken()


def test_parse_and_validate_hooks() -> None:
    class Account(DeclarativeModel):
        email: str
        age: int

        def parse_email(self, value: Any) -> Any:
            return value.strip().lower() if isinstance(value, str) else value

        def validate_age(self, value: int) -> bool:
            return value >= 0

    account = Account("  Me@Example.ORG ", 30)
    assert account.email == "me@example.org"
    with pytest.raises(MinosAttributeValidationException, match=r"Account\.age") as e:
        Account("a@b.c", -1)
    assert "-1" in str(e.value)
    with pytest.raises(MinosAttributeValidationException, match=r"Account\.age"):
        account.age = -5
    assert account.age == 30


def test_failing_parse_hook() -> None:
    class Number(DeclarativeModel):
        value: int

        @staticmethod
        def parse_value(value: Any) -> int:
            return int(value)

    assert Number("12").value == 12
    with pytest.raises(MinosParseAttributeException, match=r"Number\.value"):
        Number("twelve")


def test_class_level_collaborators_are_not_fields() -> None:
    class Service:
        pass

    class Order(Entity):
        registry: ClassVar[dict[str, int]] = {}
        _broker: Service = Service()
        repository = Service()
        total: float

        def describe(self) -> str:
            return f"order of {self.total}"

    order = Order(10)
    assert list(order.keys()) == ["uuid", "total"]
    assert order.total == 10.0 and isinstance(order.total, float)
    assert order.describe() == "order of 10.0"


def test_subclass_with_extra_fields_and_custom_init() -> None:
    class Tracked(Entity):
        version: int = field(default=1, kw_only=True)

    class Car(Tracked):
        plate: str
        seats: int

        def __init__(self, *args: Any, seats: int = 4, **kwargs: Any) -> None:
            super().__init__(*args, seats=seats, **kwargs)

    class SportsCar(Car):
        top_speed: int = 300

    car = Car("1234-ABC")
    assert (car.plate, car.seats, car.version) == ("1234-ABC", 4, 1)
    sports = SportsCar("FAST", version=7)
    assert (sports.plate, sports.seats, sports.top_speed, sports.version) == (
        "FAST",
        4,
        300,
        7,
    )
    assert list(sports.keys()) == ["uuid", "version", "plate", "seats", "top_speed"]
    with pytest.raises(MinosTypeAttributeException, match=r"SportsCar\.top_speed"):
        SportsCar("X", top_speed="fast")


def test_redeclared_field_keeps_its_position() -> None:
    class Base(DeclarativeModel):
        a: int
        b: int

    class Child(Base):
        a: float  # type: ignore[assignment]

    assert Child.field_types() == {"a": float, "b": int}


def test_given_twice_is_an_error() -> None:
    with pytest.raises(MinosModelAttributeException, match=r"Author\.name"):
        Author("A", name="B")


def test_unresolvable_annotation() -> None:
    class Lost(DeclarativeModel):
        where: Nowhere  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(MinosMalformedAttributeException, match=r"Lost\.where"):
        Lost(None)


def test_unsupported_annotation() -> None:
    class Odd(DeclarativeModel):
        table: dict[int, str]

    with pytest.raises(MinosMalformedAttributeException, match=r"Odd\.table"):
        Odd({})


def test_fields_view() -> None:
    author = Author("A", None)
    assert author.fields == {
        "name": Field("name", str, "A"),
        "born": Field("born", int | None, None),
    }
    assert Field("name", str, "A").name == "name"


def test_item_assignment_validates() -> None:
    inventory = Inventory(1, None)
    inventory["count"] = 5
    assert inventory.count == 5
    with pytest.raises(MinosTypeAttributeException):
        inventory["count"] = "five"
    with pytest.raises(KeyError):
        inventory["nope"] = 1
    with pytest.raises(KeyError):
        inventory["nope"]
    assert "count" in inventory and "nope" not in inventory
    assert len(inventory) == 2


def test_dynamic_and_bucket_models() -> None:
    dynamic = DynamicModel(title="Dune", copies=3)
    assert dict(dynamic) == {"title": "Dune", "copies": 3}
    assert dynamic.field_types() == {"title": str, "copies": int}
    with pytest.raises(MinosMalformedAttributeException, match="'pages'"):
        dynamic.pages = 3
    bucket = BucketModel.empty()
    bucket.colour = "red"
    bucket.sizes = [1, 2]
    assert dict(bucket) == {"colour": "red", "sizes": [1, 2]}
    del bucket.colour
    assert list(bucket.keys()) == ["sizes"]
    assert bucket == BucketModel(sizes=[1, 2])
    with pytest.raises(MinosTypeAttributeException, match="thing"):
        BucketModel(thing=object())
