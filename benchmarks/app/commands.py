"""The benchmark service's command side: create over REST, a saga, a participant."""

from __future__ import annotations

from uuid import uuid4

from minos.common import ModelType
from minos.cqrs import CommandService
from minos.networks import Request, Response, ResponseException, enroute
from minos.saga import Saga, SagaContext, SagaStatus

from .aggregates import Item, Location

ReserveQuery = ModelType.build("ReserveQuery", {"quantity": int})


def _reserve(context: SagaContext) -> object:
    return ReserveQuery(context["quantity"])


PLACE_ORDER = (
    Saga("PlaceOrder")
    .step()
    .invoke_participant("ReserveStock", _reserve)
    .with_compensation("ReleaseStock", _reserve)
    .on_reply("reservation")
    .commit()
)


class BenchCommandService(CommandService):
    @enroute.rest.command("/items", "POST")
    async def create_item(self, request: Request) -> Response:
        content = await request.content()
        item = await Item.create(
            name=content["name"],
            count=content["count"],
            tags=["bench"],
            location=Location(street=content["street"], city=content["city"]),
        )
        return Response({"uuid": str(item.uuid)})

    @enroute.rest.command("/orders", "POST")
    async def place_order(self, request: Request) -> Response:
        content = await request.content()
        execution = await self.saga_manager.run(
            PLACE_ORDER,
            context=SagaContext(quantity=content["quantity"]),
            raise_on_error=False,
        )
        if execution.status != SagaStatus.Finished:
            raise ResponseException("The order could not be placed.")
        return Response({"reservation": str(execution.context["reservation"])})

    @enroute.broker.command("ReserveStock")
    async def reserve_stock(self, request: Request) -> Response:
        content = await request.content()
        if content["quantity"] <= 0:
            raise ResponseException("Nothing to reserve.")
        return Response(uuid4())

    @enroute.broker.command("ReleaseStock")
    async def release_stock(self, request: Request) -> None:
        await request.content()
