"""A saga across two ``minos run`` processes on PostgreSQL and Kafka.

``orders`` (A) runs a three-step saga whose participants are broker commands of
``stock`` (B): reserve the items, charge the payment, ship the order. Each of
B's handlers writes what it did to B's database, so the test sees exactly which
steps and compensations ran there.
"""

from __future__ import annotations

import uuid

import aiohttp
import psycopg
import pytest

from testing.harness import free_port
from testing.messaging import eventually
from testing.services import ServiceProcess, write_service

SUFFIX = uuid.uuid4().hex[:8]

ORDERS_SOURCE = """
from __future__ import annotations

from minos.cqrs import CommandService, QueryService
from minos.networks import Request, Response, enroute
from minos.saga import Saga, SagaContext


def _reserve(context: SagaContext) -> dict:
    return {"order": context["order"], "items": context["items"]}


def _release(context: SagaContext) -> dict:
    return {"order": context["order"]}


def _charge(context: SagaContext) -> dict:
    return {"order": context["order"], "amount": context["amount"]}


def _refund(context: SagaContext) -> dict:
    return {"order": context["order"], "payment": context["payment"]}


def _ship(context: SagaContext) -> dict:
    return {"order": context["order"]}


def _read_payment(data: dict) -> str:
    return data["payment"]


async def _confirm(context: SagaContext) -> SagaContext:
    return SagaContext(context, confirmed=True)


PLACE_ORDER = (
    Saga("PlaceOrder")
    .step()
    .invoke_participant("ReserveStock{suffix}", _reserve)
    .with_compensation("ReleaseStock{suffix}", _release)
    .on_reply("reservation")
    .step()
    .invoke_participant("ChargePayment{suffix}", _charge)
    .with_compensation("RefundPayment{suffix}", _refund)
    .on_reply("payment", _read_payment)
    .step()
    .invoke_participant("ShipOrder{suffix}", _ship)
    .on_reply("shipment")
    .commit(_confirm)
)


def _describe(execution) -> dict:
    return {
        "saga": str(execution.uuid),
        "status": execution.status.name,
        "context": dict(execution.context),
        "error": execution.error,
    }


class OrderCommands(CommandService):
    @enroute.rest.command("/orders", "POST")
    async def place(self, request: Request) -> Response:
        content = await request.content()
        context = SagaContext(
            order=content["order"], items=content["items"], amount=content["amount"]
        )
        if content.get("paused"):
            saga = await self.saga_manager.run(
                PLACE_ORDER, context=context, pause_on_disk=True, return_execution=False
            )
            return Response({"saga": str(saga)})
        execution = await self.saga_manager.run(
            PLACE_ORDER, context=context, raise_on_error=False
        )
        return Response(_describe(execution))


class OrderQueries(QueryService):
    @enroute.rest.query("/sagas/{saga}", "GET")
    async def saga(self, request: Request) -> Response:
        content = await request.content()
        return Response(_describe(await self.saga_manager.get(content["saga"])))
"""

STOCK_SOURCE = """
from __future__ import annotations

from minos.common import database_pool
from minos.networks import Request, Response, ResponseException, enroute


class StockCommands:
    def __init__(self, config=None):
        self.pool = database_pool(config.broker.queue._asdict())

    async def _log(self, order: str, action: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO stock_log (order_id, action) VALUES (%s, %s)",
                (order, action),
            )

    @enroute.broker.command("ReserveStock{suffix}")
    async def reserve(self, request: Request) -> Response:
        content = await request.content()
        await self._log(content["order"], "reserve")
        return Response(len(content["items"]))

    @enroute.broker.command("ReleaseStock{suffix}")
    async def release(self, request: Request) -> None:
        content = await request.content()
        await self._log(content["order"], "release")

    @enroute.broker.command("ChargePayment{suffix}")
    async def charge(self, request: Request) -> Response:
        content = await request.content()
        await self._log(content["order"], "charge")
        if content["amount"] <= 0:
            raise ResponseException("the card was declined")
        return Response({"payment": "pay-" + content["order"]})

    @enroute.broker.command("RefundPayment{suffix}")
    async def refund(self, request: Request) -> None:
        content = await request.content()
        await self._log(content["order"], "refund " + content["payment"])

    @enroute.broker.command("ShipOrder{suffix}")
    async def ship(self, request: Request) -> Response:
        content = await request.content()
        await self._log(content["order"], "ship")
        return Response("shipped")
"""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, postgres_database_factory, kafka_bootstrap):
    root = tmp_path_factory.mktemp("saga-services")
    orders_db = postgres_database_factory("orders")
    stock_db = postgres_database_factory("stock")
    with psycopg.connect(**_connection(stock_db), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE stock_log (id SERIAL PRIMARY KEY, order_id TEXT, action TEXT)"
        )

    orders_port, stock_port = free_port(), free_port()
    orders = write_service(
        root / "orders",
        name=f"orders{SUFFIX}",
        source=ORDERS_SOURCE.replace("{suffix}", SUFFIX),
        services=[
            "minos.networks.ConsumerService",
            "minos.networks.CommandReplyHandlerService",
            "minos.networks.RestService",
            "minos.networks.ProducerService",
        ],
        commands="OrderCommands",
        queries="OrderQueries",
        database=orders_db,
        kafka=kafka_bootstrap,
        rest_port=orders_port,
        saga={"timeout": 120},
    )
    stock = write_service(
        root / "stock",
        name=f"stock{SUFFIX}",
        source=STOCK_SOURCE.replace("{suffix}", SUFFIX),
        services=[
            "minos.networks.ConsumerService",
            "minos.networks.CommandHandlerService",
            "minos.networks.ProducerService",
            "minos.networks.RestService",
        ],
        commands="StockCommands",
        queries=None,
        database=stock_db,
        kafka=kafka_bootstrap,
        rest_port=stock_port,
        saga={"timeout": 120},
    )
    processes = {
        "orders": ServiceProcess(orders, {}),
        "stock": ServiceProcess(stock, {}),
    }
    processes["stock"].start(wait_port=stock_port)
    processes["orders"].start(wait_port=orders_port)
    try:
        yield {
            "processes": processes,
            "orders_port": orders_port,
            "stock_port": stock_port,
            "orders_db": orders_db,
            "stock_db": stock_db,
        }
    finally:
        codes = {name: process.stop() for name, process in processes.items()}
        for name, code in codes.items():
            assert code == 0, f"{name} stopped with {code}:\n{processes[name].output()}"


def _connection(settings: dict) -> dict:
    return {
        "host": settings["host"],
        "port": settings["port"],
        "dbname": settings["database"],
        "user": settings["user"],
        "password": settings["password"],
    }


def unpublished(deployment) -> int:
    """How many messages wait in the outbox of ``orders``."""
    with psycopg.connect(**_connection(deployment["orders_db"])) as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM producer_queue").fetchone()
    return count


def stock_log(deployment, order: str) -> list[str]:
    with psycopg.connect(**_connection(deployment["stock_db"])) as conn:
        rows = conn.execute(
            "SELECT action FROM stock_log WHERE order_id = %s ORDER BY id", (order,)
        ).fetchall()
    return [action for (action,) in rows]


async def place(deployment, order: str, amount: int, *, paused: bool = False) -> dict:
    url = f"http://127.0.0.1:{deployment['orders_port']}/orders"
    body = {"order": order, "items": ["book", "pen"], "amount": amount}
    if paused:
        body["paused"] = True
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def saga(deployment, uuid: str) -> dict:
    url = f"http://127.0.0.1:{deployment['orders_port']}/sagas/{uuid}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def test_a_saga_succeeds_across_services(deployment):
    result = await place(deployment, "o-success", 10)

    assert result["status"] == "Finished", result
    assert result["context"]["reservation"] == 2
    assert result["context"]["payment"] == "pay-o-success"
    assert result["context"]["shipment"] == "shipped"
    assert result["context"]["confirmed"] is True
    assert stock_log(deployment, "o-success") == ["reserve", "charge", "ship"]
    assert (await saga(deployment, result["saga"]))["status"] == "Finished"


async def test_a_failing_middle_step_compensates_the_first_in_the_other_service(
    deployment,
):
    result = await place(deployment, "o-declined", 0)

    assert result["status"] == "Errored", result
    assert "the card was declined" in result["error"]
    # The charge's own write was rolled back with its failure; the reservation
    # was undone by the compensation, and nothing was refunded or shipped.
    await eventually(
        lambda: stock_log(deployment, "o-declined") == ["reserve", "release"]
    )


async def test_a_paused_saga_completes_after_a_restart(deployment):
    processes = deployment["processes"]
    processes["stock"].stop()  # no participant answers while the saga is paused

    uuid = (await place(deployment, "o-paused", 5, paused=True))["saga"]
    assert (await saga(deployment, uuid))["status"] == "Paused"
    await eventually(lambda: unpublished(deployment) == 0)  # the command is out

    processes["orders"].kill()  # SIGKILL: the paused execution only lives on disk
    processes["stock"].start(wait_port=deployment["stock_port"])
    await eventually(lambda: stock_log(deployment, "o-paused") == ["reserve"], 60)
    processes["orders"].start(wait_port=deployment["orders_port"])

    async def finished() -> bool:
        return (await saga(deployment, uuid))["status"] == "Finished"

    try:
        await eventually(finished, within=60, interval=0.2)
    except AssertionError:
        raise AssertionError(
            f"the saga did not finish: {await saga(deployment, uuid)}\n"
            f"stock did: {stock_log(deployment, 'o-paused')}\n"
            f"orders:\n{processes['orders'].output()}\n"
            f"stock:\n{processes['stock'].output()}"
        ) from None
    final = await saga(deployment, uuid)
    assert final["context"]["payment"] == "pay-o-paused"
    assert final["context"]["confirmed"] is True
    assert stock_log(deployment, "o-paused") == ["reserve", "charge", "ship"]
