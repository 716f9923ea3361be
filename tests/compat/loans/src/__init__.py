from __future__ import annotations

from uuid import UUID

from minos.common import Aggregate, AggregateRef, ModelRef, ModelType
from minos.cqrs import CommandService
from minos.networks import Request, Response, ResponseException, enroute
from minos.saga import Saga, SagaContext, SagaStatus


class Book(AggregateRef):
    title: str


class Loan(Aggregate):
    book: ModelRef[Book]
    reader: str


ReserveQuery = ModelType.build("ReserveQuery", {"book": UUID})


def _reserve(context: SagaContext):
    return ReserveQuery(context["book"])


async def _open_loan(context: SagaContext) -> SagaContext:
    loan = await Loan.create(book=context["book"], reader=context["reader"])
    return SagaContext(loan=loan)


BORROW = (
    Saga("BorrowBook")
    .step()
    .invoke_participant("ReserveCopy", _reserve)
    .with_compensation("ReleaseCopy", _reserve)
    .on_reply("reserved")
    .commit(_open_loan)
)


class LoanCommandService(CommandService):
    @enroute.rest.command("/loans", "POST")
    async def borrow(self, request: Request) -> Response:
        content = await request.content()
        execution = await self.saga_manager.run(
            BORROW,
            context=SagaContext(book=content["book"], reader=content["reader"]),
            raise_on_error=False,
        )
        if execution.status != SagaStatus.Finished:
            raise ResponseException("The book could not be lent.")
        return Response(execution.context["loan"])
