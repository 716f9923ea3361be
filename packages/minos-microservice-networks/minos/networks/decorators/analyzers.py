"""Finding the routes declared on a service class."""

from __future__ import annotations

import inspect
from typing import Any

from .definitions import (
    ROUTES_ATTRIBUTE,
    BrokerEnrouteDecorator,
    BrokerEventEnrouteDecorator,
    EnrouteDecorator,
    PeriodicEventEnrouteDecorator,
    RestEnrouteDecorator,
)

__all__ = ["EnrouteAnalyzer"]


class EnrouteAnalyzer:
    """Lists, by attribute name, the routes declared on a class's methods."""

    def __init__(self, decorated: type | Any) -> None:
        self.decorated = decorated if isinstance(decorated, type) else type(decorated)

    def get_all(self) -> dict[str, set[EnrouteDecorator]]:
        found: dict[str, set[EnrouteDecorator]] = {}
        for name, attribute in inspect.getmembers_static(self.decorated):
            function = getattr(attribute, "__func__", attribute)
            routes = getattr(function, ROUTES_ATTRIBUTE, None)
            if routes:
                found[name] = set(routes)
        return found

    def _only(self, kind: type[EnrouteDecorator]) -> dict[str, set[EnrouteDecorator]]:
        selected = {
            name: {r for r in routes if isinstance(r, kind)}
            for name, routes in self.get_all().items()
        }
        return {name: routes for name, routes in selected.items() if routes}

    def get_rest_command_query(self) -> dict[str, set[EnrouteDecorator]]:
        return self._only(RestEnrouteDecorator)

    def get_broker_command_query_event(self) -> dict[str, set[EnrouteDecorator]]:
        return self._only(BrokerEnrouteDecorator)

    def get_broker_event(self) -> dict[str, set[EnrouteDecorator]]:
        return self._only(BrokerEventEnrouteDecorator)

    def get_periodic_event(self) -> dict[str, set[EnrouteDecorator]]:
        return self._only(PeriodicEventEnrouteDecorator)
