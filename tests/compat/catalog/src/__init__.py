from __future__ import annotations

from typing import Optional
from uuid import UUID

from dependency_injector.wiring import Provide
from minos.common import (
    UUID_REGEX, Aggregate, AggregateDiff, FieldDiff, MinosConfig,
    MinosSnapshotAggregateNotFoundException, MinosSnapshotDeletedAggregateException,
    ModelType, PostgreSqlMinosDatabase, ValueObject,
)
from minos.cqrs import CommandService, QueryService
from minos.networks import Request, Response, ResponseException, enroute


class Author(ValueObject):
    name: str
    born: Optional[int]


class Book(Aggregate):
    title: str
    authors: list[Author]
    copies: int
    lent: int

    def __init__(self, *args, copies: int = 1, lent: int = 0, **kwargs):
        super().__init__(*args, copies=copies, lent=lent, **kwargs)


BookDTO = ModelType.build("BookDTO", {"uuid": UUID, "title": str, "available": int})


class CatalogCommandService(CommandService):
    @staticmethod
    @enroute.rest.command("/books", "POST")
    @enroute.broker.command("CreateBook")
    async def create_book(request: Request) -> Response:
        content = await request.content()
        authors = [Author(**a) for a in content["authors"]]
        book = await Book.create(content["title"], authors, copies=content["copies"])
        return Response(book)                      # JSON: the book's fields, uuid as string

    @enroute.rest.command(f"/books/{{uuid:{UUID_REGEX.pattern}}}", "DELETE")
    async def delete_book(self, request: Request) -> None:
        content = await request.content()          # path argument "uuid" merged in
        try:
            book = await Book.get(content["uuid"])
        except (MinosSnapshotAggregateNotFoundException, MinosSnapshotDeletedAggregateException):
            raise ResponseException("The book does not exist.")   # HTTP 400
        await book.delete()

    @enroute.broker.command("ReserveCopy")
    async def reserve_copy(self, request: Request) -> Response:
        content = await request.content()
        book = await Book.get(content["book"])
        if book.lent >= book.copies:
            raise ResponseException("No copy left.")              # ERROR reply
        book.lent += 1
        await book.save()                           # events BookUpdated, BookUpdated.lent
        return Response(book.uuid)

    @enroute.broker.command("ReleaseCopy")
    async def release_copy(self, request: Request) -> None:
        content = await request.content()
        book = await Book.get(content["book"])
        book.lent -= 1
        await book.save()


class BookReadModel(PostgreSqlMinosDatabase):
    @classmethod
    def _from_config(cls, *args, config: MinosConfig, **kwargs) -> BookReadModel:
        return cls(*args, **{**config.repository._asdict(), **kwargs})

    async def _setup(self) -> None:
        await self.submit_query(
            "CREATE TABLE IF NOT EXISTS book_read "
            "(uuid UUID PRIMARY KEY, title TEXT NOT NULL, available INT NOT NULL)"
        )

    async def upsert(self, uuid: UUID, title: str, available: int) -> None:
        await self.submit_query(
            "INSERT INTO book_read VALUES (%(uuid)s, %(title)s, %(available)s) "
            "ON CONFLICT (uuid) DO UPDATE SET title = %(title)s, available = %(available)s",
            {"uuid": uuid, "title": title, "available": available},
        )

    async def all(self) -> list:
        return [BookDTO(*row) async for row in self.submit_query_and_iter(
            "SELECT uuid, title, available FROM book_read ORDER BY title")]


class CatalogQueryService(QueryService):
    read_model: BookReadModel = Provide["book_read_model"]   # from service.injections

    @enroute.broker.event("BookCreated")
    async def book_created(self, request: Request) -> None:
        diff: AggregateDiff = await request.content()
        fields = {k: v.value if isinstance(v, FieldDiff) else v
                  for k, v in diff.fields_diff.items()}
        await self.read_model.upsert(diff.uuid, fields["title"], fields["copies"] - fields["lent"])

    @enroute.broker.event("BookUpdated.lent")
    async def book_lent_changed(self, request: Request) -> None:
        diff: AggregateDiff = await request.content()
        book = await Book.get(diff.uuid)
        await self.read_model.upsert(book.uuid, book.title, book.copies - diff.get_one("lent"))

    @enroute.rest.query("/books", "GET")
    @enroute.broker.query("GetBooks")
    async def get_books(self, request: Request) -> Response:
        return Response(await self.read_model.all())
