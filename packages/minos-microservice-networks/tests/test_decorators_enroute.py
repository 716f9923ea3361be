"""The enroute decorators, the analyzer, and the builder that makes handlers."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from minos.common import MinosConfig
from minos.networks import (
    BrokerCommandEnrouteDecorator,
    BrokerEventEnrouteDecorator,
    BrokerQueryEnrouteDecorator,
    EnrouteAnalyzer,
    EnrouteBuilder,
    EnrouteDecoratorKind,
    InMemoryRequest,
    MinosNetworkException,
    MinosRedefinedEnrouteDecoratorException,
    PeriodicEventEnrouteDecorator,
    Request,
    Response,
    RestCommandEnrouteDecorator,
    RestQueryEnrouteDecorator,
    enroute,
)
from testing.messaging import register_module, unique


class Orders:
    """Every way of declaring a handler."""

    def __init__(self, config: Any = None) -> None:
        self.config = config
        self.calls = 0

    @enroute.rest.command("/orders", "POST")
    @enroute.broker.command("CreateOrder")
    async def create(self, request: Request) -> Response:
        self.calls += 1
        return Response({"created": await request.content(), "calls": self.calls})

    @staticmethod
    @enroute.broker.query("GetOrder")
    def get(request: Request) -> Response:
        return Response("sync static")

    @enroute.broker.query("CountOrders")
    @staticmethod
    async def count(request: Request) -> int:
        return 3

    @enroute.broker.event("OrderPaid")
    def paid(self, request: Request) -> None:
        return None

    @enroute.periodic.event("*/5 * * * *")
    async def tick(self, request: Request) -> None:
        return None

    @enroute.rest.query("/orders/{uuid}", "get")
    @classmethod
    async def read(cls, request: Request) -> Response:
        return Response(cls.__name__)

    def undecorated(self, request: Request) -> None:
        return None


class NoConfig:
    def __init__(self) -> None:
        self.built = True

    @enroute.broker.event("Something")
    async def something(self, request: Request) -> None:
        return None


def test_a_decorator_records_its_route_and_returns_the_function_itself():
    async def handler(request: Request) -> None:
        return None

    decorated = enroute.broker.event("Happened")(handler)
    again = enroute.broker.event("Happened")(decorated)
    assert decorated is handler is again
    assert handler.__minos_routes__ == [BrokerEventEnrouteDecorator("Happened")]


def test_routes_stack_and_compare_by_kind_and_value():
    assert BrokerCommandEnrouteDecorator("X") == BrokerCommandEnrouteDecorator("X")
    assert BrokerCommandEnrouteDecorator("X") != BrokerQueryEnrouteDecorator("X")
    assert RestQueryEnrouteDecorator("/a", "get") == RestQueryEnrouteDecorator(
        "/a", "GET"
    )
    assert BrokerCommandEnrouteDecorator.KIND is EnrouteDecoratorKind.Command
    assert BrokerEventEnrouteDecorator.KIND is EnrouteDecoratorKind.Event
    assert (
        len({BrokerEventEnrouteDecorator("E"), BrokerEventEnrouteDecorator("E")}) == 1
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: enroute.broker.command(""), "non-empty string"),
        (lambda: enroute.broker.event("  "), "non-empty string"),
        (lambda: enroute.broker.query(None), "non-empty string"),
        (lambda: enroute.rest.command("orders", "POST"), "starting with '/'"),
        (lambda: enroute.rest.query("/orders", "FETCH"), "Unknown HTTP method"),
        (lambda: enroute.periodic.event("every minute"), "Invalid crontab"),
        (lambda: enroute.periodic.event("* * *"), "Invalid crontab"),
    ],
)
def test_bad_routes_are_refused_when_declared(build, message):
    with pytest.raises(MinosNetworkException, match=message):
        build()


def test_the_analyzer_lists_routes_by_method_and_kind():
    analyzer = EnrouteAnalyzer(Orders)
    assert analyzer.get_all() == {
        "create": {
            RestCommandEnrouteDecorator("/orders", "POST"),
            BrokerCommandEnrouteDecorator("CreateOrder"),
        },
        "get": {BrokerQueryEnrouteDecorator("GetOrder")},
        "count": {BrokerQueryEnrouteDecorator("CountOrders")},
        "paid": {BrokerEventEnrouteDecorator("OrderPaid")},
        "tick": {PeriodicEventEnrouteDecorator("*/5 * * * *")},
        "read": {RestQueryEnrouteDecorator("/orders/{uuid}", "GET")},
    }
    assert set(analyzer.get_rest_command_query()) == {"create", "read"}
    assert set(analyzer.get_broker_command_query_event()) == {
        "create",
        "get",
        "count",
        "paid",
    }
    assert set(analyzer.get_broker_event()) == {"paid"}
    assert set(analyzer.get_periodic_event()) == {"tick"}
    assert EnrouteAnalyzer(Orders(None)).get_all() == analyzer.get_all()


def test_inherited_handlers_are_found_and_overrides_without_routes_hide_them():
    class MoreOrders(Orders):
        def paid(self, request: Request) -> None:  # no route any more
            return None

    routes = EnrouteAnalyzer(MoreOrders).get_all()
    assert "create" in routes
    assert "paid" not in routes


async def test_the_builder_binds_every_handler_to_one_instance_and_makes_it_async():
    builder = EnrouteBuilder(Orders, config="the config")
    handlers = builder.get_broker_command_query_event()
    assert set(handlers) == {
        BrokerCommandEnrouteDecorator("CreateOrder"),
        BrokerQueryEnrouteDecorator("GetOrder"),
        BrokerQueryEnrouteDecorator("CountOrders"),
        BrokerEventEnrouteDecorator("OrderPaid"),
    }
    assert all(inspect.iscoroutinefunction(h) for h in handlers.values())

    create = handlers[BrokerCommandEnrouteDecorator("CreateOrder")]
    rest_create = builder.get_rest_command_query()[
        RestCommandEnrouteDecorator("/orders", "POST")
    ]
    await create(InMemoryRequest(1))
    second = await rest_create(InMemoryRequest(2))
    assert second.data == {"created": 2, "calls": 2}  # one shared instance
    assert builder.instance(Orders).config == "the config"

    get = handlers[BrokerQueryEnrouteDecorator("GetOrder")]
    assert (await get(InMemoryRequest())).data == "sync static"
    assert await handlers[BrokerQueryEnrouteDecorator("CountOrders")](None) == 3
    assert await handlers[BrokerEventEnrouteDecorator("OrderPaid")](None) is None
    read = builder.get_rest_command_query()[
        RestQueryEnrouteDecorator("/orders/{uuid}", "GET")
    ]
    assert (await read(InMemoryRequest())).data == "Orders"
    assert list(builder.get_periodic_event()) == [
        PeriodicEventEnrouteDecorator("*/5 * * * *")
    ]
    assert len(builder.get_all()) == 7


def test_a_service_without_a_config_parameter_is_built_without_one():
    builder = EnrouteBuilder(NoConfig, config="ignored")
    assert builder.instance(NoConfig).built
    assert builder.topics() == ["Something"]


def test_an_instance_can_be_given_instead_of_a_class():
    service = Orders("mine")
    builder = EnrouteBuilder(service)
    assert builder.instance(Orders) is service
    assert builder.service_classes == [Orders]


def test_two_handlers_for_one_route_are_refused():
    class Duplicate:
        @enroute.broker.event("OrderPaid")
        async def also_paid(self, request: Request) -> None:
            return None

    builder = EnrouteBuilder(Orders, Duplicate)
    with pytest.raises(MinosRedefinedEnrouteDecoratorException, match="declared twice"):
        builder.get_broker_event()


def test_topics_and_services_come_from_the_configuration():
    module = unique("enroute_services").replace("-", "_")
    register_module(module, Orders=Orders, NoConfig=NoConfig)
    config = MinosConfig(
        {
            "service": {"name": "orders"},
            "commands": {"service": f"{module}.Orders"},
            "queries": {"service": f"{module}.Orders"},
            "events": {"service": f"{module}.NoConfig"},
        },
        with_environment=False,
    )
    builder = EnrouteBuilder.from_config(config)
    assert builder.service_classes == [Orders, NoConfig]
    assert builder.topics() == [
        "CountOrders",
        "CreateOrder",
        "GetOrder",
        "OrderPaid",
        "Something",
    ]
    assert builder.instance(Orders).config is config


def test_a_configuration_without_services_has_no_topics():
    config = MinosConfig({"service": {"name": "empty"}}, with_environment=False)
    assert EnrouteBuilder.from_config(config).topics() == []
