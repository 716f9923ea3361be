"""Command and query services: classes whose decorated methods become handlers.

A ``CommandService`` changes state (commands only); a ``QueryService`` reads
it (queries and events only). Mixing the two is refused when the class is
defined, so a misplaced decorator is found at start-up, not in production.
"""

from __future__ import annotations

from typing import Any, ClassVar

from dependency_injector.wiring import Provide, inject

from minos.common import MinosConfig, MinosSagaManager
from minos.networks import EnrouteAnalyzer, EnrouteDecorator, EnrouteDecoratorKind

from .exceptions import MinosIllegalHandlingException

__all__ = ["Service", "CommandService", "QueryService"]


def _provided(value: Any) -> Any:
    """``None`` for a marker left unresolved because the module was not wired."""
    return None if isinstance(value, Provide) else value


class Service:
    """Base of the services named by ``commands.service`` and ``queries.service``.

    ``config`` and ``saga_manager`` come from the container (or explicit
    arguments); class attributes declared ``= Provide["name"]`` receive the
    injections the config names.
    """

    FORBIDDEN: ClassVar[frozenset[EnrouteDecoratorKind]] = frozenset()

    @inject
    def __init__(
        self,
        *args: Any,
        config: MinosConfig = Provide["config"],
        saga_manager: MinosSagaManager = Provide["saga_manager"],
        **kwargs: Any,
    ) -> None:
        self.config = _provided(config)
        self._saga_manager = _provided(saga_manager)

    @property
    def saga_manager(self) -> MinosSagaManager:
        if self._saga_manager is None:
            raise MinosIllegalHandlingException(
                f"{type(self).__name__} has no saga manager: add "
                "'saga_manager: minos.saga.SagaManager' to service.injections"
            )
        return self._saga_manager

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.check_routes()

    @classmethod
    def check_routes(cls) -> None:
        """Refuse the handlers this kind of service may not declare."""
        for name, routes in EnrouteAnalyzer(cls).get_all().items():
            illegal = sorted((r for r in routes if r.KIND in cls.FORBIDDEN), key=repr)
            if illegal:
                raise MinosIllegalHandlingException(
                    f"{cls.__qualname__}.{name} is declared as {_describe(illegal)}, "
                    f"which a {cls._side()} may not handle; move it to a "
                    f"{cls._other_side()}"
                )

    @classmethod
    def _side(cls) -> str:
        return "service"

    @classmethod
    def _other_side(cls) -> str:
        return "service"


def _describe(routes: list[EnrouteDecorator]) -> str:
    return ", ".join(f"{type(r).__name__}{_arguments(r)}" for r in routes)


def _arguments(route: EnrouteDecorator) -> str:
    values = [repr(v) for v in vars(route).values()]
    return f"({', '.join(values)})"


class CommandService(Service):
    """Handles commands: the only side that changes aggregates."""

    FORBIDDEN = frozenset({EnrouteDecoratorKind.Query, EnrouteDecoratorKind.Event})

    @classmethod
    def _side(cls) -> str:
        return "CommandService"

    @classmethod
    def _other_side(cls) -> str:
        return "QueryService"


class QueryService(Service):
    """Handles queries and events: answers questions and keeps read models."""

    FORBIDDEN = frozenset({EnrouteDecoratorKind.Command})

    @classmethod
    def _side(cls) -> str:
        return "QueryService"

    @classmethod
    def _other_side(cls) -> str:
        return "CommandService"
