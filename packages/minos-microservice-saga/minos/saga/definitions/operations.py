"""``SagaOperation``: a name and the callback that feeds it."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Self

from minos.common import MinosImportException

from ..context import SagaContext
from ..exceptions import (
    MinosSagaCallbackException,
    MinosSagaDefinitionException,
    MinosSagaSerializationException,
)
from ..paths import callback_problem, object_path, resolve_callback

__all__ = ["SagaOperation"]


class SagaOperation:
    """What one part of a step does: ``name`` is the participant's topic (or the
    context key of a reply) and ``callback`` builds the data (or reads the reply).

    Callbacks may be sync or async and must be module-level functions (or
    static/class methods), so a stored execution finds them again in another
    process. ``parameters`` are passed to the callback as keyword arguments.
    """

    __slots__ = ("name", "callback", "parameters", "_path")

    def __init__(
        self,
        name: str,
        callback: Callable[..., Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        what: str = "operation",
    ) -> None:
        if not isinstance(name, str) or not name:
            raise MinosSagaDefinitionException(
                f"the {what} needs a non-empty name (a topic or a context key), "
                f"not {name!r}"
            )
        self._path = (
            _check_callback(callback, f"{what} {name!r}")
            if callback is not None
            else None
        )
        if parameters is not None and not isinstance(parameters, Mapping):
            raise MinosSagaDefinitionException(
                f"the parameters of the {what} {name!r} must be a mapping of "
                f"argument names to values, not a {type(parameters).__name__}"
            )
        self.name = name
        self.callback = callback
        self.parameters = SagaContext(parameters or {})
        if parameters:
            self.parameters.raw  # noqa: B018 -- fail now if they cannot be stored

    async def call(self, *args: Any, limit: float | None = None) -> Any:
        """Run the callback (awaiting it if needed) and return its result.

        An asynchronous callback still running after ``limit`` seconds is
        cancelled and ``TimeoutError`` raised.
        """
        if self.callback is None:
            return None
        # Limitation: a synchronous callback that never returns blocks the event
        # loop; only asynchronous callbacks can be bounded by ``limit``.
        result = self.callback(*args, **self.parameters)
        if inspect.isawaitable(result):
            try:
                async with asyncio.timeout(limit):
                    result = await result
            except TimeoutError:
                if limit is None:
                    raise
                raise TimeoutError(
                    f"the callback {self._path} did not return within {limit:g}s"
                ) from None
        return result

    @property
    def raw(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "callback": self._path,
            "parameters": self.parameters.raw if self.parameters else None,
        }

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], *, what: str = "operation") -> Self:
        if not isinstance(raw, Mapping):
            raise MinosSagaSerializationException(
                f"a stored saga {what} must be a JSON object, not {str(raw)[:80]!r}"
            )
        callback = None
        if raw.get("callback"):
            try:
                callback = resolve_callback(raw["callback"])
            except MinosImportException as exc:
                raise MinosSagaSerializationException(
                    f"the {what} {raw.get('name')!r} of a stored saga needs the "
                    f"callback {raw['callback']!r}, which cannot be used ({exc}); "
                    "keep the function at its path while executions use it"
                ) from exc
        parameters = raw.get("parameters")
        try:
            return cls(
                raw["name"],
                callback,
                SagaContext.from_raw(parameters, where="parameters")
                if parameters
                else None,
                what=what,
            )
        except MinosSagaDefinitionException as exc:
            raise MinosSagaSerializationException(
                f"a stored saga {what} is invalid: {exc}"
            ) from exc

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SagaOperation)
            and self.name == other.name
            and self.callback == other.callback
            and self.parameters == other.parameters
        )

    def __hash__(self) -> int:
        return hash((self.name, self.callback))

    def __repr__(self) -> str:
        return f"SagaOperation({self.name!r}, {self._path})"


def _check_callback(callback: Any, what: str) -> str:
    """Return the path of a valid callback; raise if it has none."""
    if not callable(callback):
        raise MinosSagaCallbackException(
            f"the callback of the {what} is a {type(callback).__name__}, not a "
            "function; pass a function that takes the saga context"
        )
    problem = callback_problem(callback)
    if problem is not None:
        name = getattr(callback, "__qualname__", repr(callback))
        raise MinosSagaCallbackException(
            f"the callback {name!r} of the {what} cannot be a saga callback: {problem}"
        )
    path = object_path(callback)
    if path is None:
        name = getattr(callback, "__qualname__", repr(callback))
        raise MinosSagaCallbackException(
            f"the callback {name!r} of the {what} cannot be found again by its "
            "module and name (lambdas, nested functions and methods of instances "
            "cannot be stored); define it as a module-level function"
        )
    return path
