"""``Saga``: a named list of steps and a commit callback."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Self

from ..exceptions import (
    MinosSagaAlreadyCommittedException,
    MinosSagaDefinitionException,
    MinosSagaEmptyStepException,
    MinosSagaNotCommittedException,
    MinosSagaSerializationException,
)
from .operations import SagaOperation
from .step import SagaStep

__all__ = ["Saga"]

# Committed definitions by name: a stored execution whose definition equals one
# of them runs with it, without importing anything its data names.
_registry: dict[str, list[weakref.ref[Saga]]] = {}
_registry_lock = threading.Lock()


def _register(saga: Saga) -> None:
    with _registry_lock:
        refs = [ref for ref in _registry.get(saga.name, []) if ref() is not None]
        refs.append(weakref.ref(saga))
        _registry[saga.name] = refs


def _registered(raw: Mapping[str, Any]) -> Saga | None:
    name = raw.get("name")
    if not isinstance(name, str):
        return None
    with _registry_lock:
        candidates = [ref() for ref in _registry.get(name, [])]
    for saga in reversed(candidates):
        if saga is not None and saga.raw == raw:
            return saga
    return None


class Saga:
    """A distributed transaction: steps run in order, the completed ones are
    compensated in reverse order if a later one fails.

    ``Saga("CreateOrder").step().invoke_participant(...).commit(callback)``.
    Mistakes raise as soon as they are written; only committed sagas run.
    """

    def __init__(
        self,
        name: str,
        *,
        steps: list[SagaStep] | None = None,
        commit_operation: SagaOperation | None = None,
        committed: bool = False,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise MinosSagaDefinitionException(
                f"a saga needs a non-empty name, not {name!r}"
            )
        self.name = name
        self.steps: list[SagaStep] = []
        for step in steps or []:
            step.saga = self
            self.steps.append(step)
        self.commit_operation = commit_operation
        self.committed = committed or commit_operation is not None

    def step(self) -> SagaStep:
        """Close the current step and start a new one."""
        if self.committed:
            raise MinosSagaAlreadyCommittedException(
                f"the saga {self.name!r} is committed; add every .step() before "
                ".commit()"
            )
        if self.steps:
            self.steps[-1].validate()
        step = SagaStep(self)
        self.steps.append(step)
        return step

    def commit(self, callback: Callable[..., Any] | None = None) -> Self:
        """Close the saga; ``callback(context)`` runs after every step succeeded.

        The callback may be async and returns the saga's final ``SagaContext``
        (``None`` keeps the context as it is). If it raises, the saga's steps
        are compensated.
        """
        if self.committed:
            raise MinosSagaAlreadyCommittedException(
                f"the saga {self.name!r} is already committed; commit it once"
            )
        if not self.steps:
            raise MinosSagaEmptyStepException(
                f"the saga {self.name!r} has no steps; add one with .step() "
                "before .commit()"
            )
        self.steps[-1].validate()
        self.commit_operation = SagaOperation("commit", callback, what="commit")
        self.committed = True
        _register(self)
        return self

    def validate(self) -> None:
        """Raise unless this saga is committed and every step can run."""
        if not self.committed:
            raise MinosSagaNotCommittedException(
                f"the saga {self.name!r} is not committed; end its definition "
                "with .commit()"
            )
        for step in self.steps:
            step.validate()

    @property
    def raw(self) -> dict[str, Any]:
        """The definition as JSON-safe data (callbacks by path)."""
        return {
            "name": self.name,
            "steps": [step.raw for step in self.steps],
            "commit": (
                self.commit_operation.raw if self.commit_operation is not None else None
            ),
        }

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Self:
        """Rebuild a definition written by ``raw``.

        A committed definition of this process equal to ``raw`` is returned as
        it is; otherwise the callbacks are found by their stored paths.
        """
        if not isinstance(raw, Mapping):
            raise MinosSagaSerializationException(
                f"a stored saga definition must be a JSON object, not {str(raw)[:80]!r}"
            )
        registered = _registered(raw)
        if registered is not None and isinstance(registered, cls):
            return registered
        try:
            commit = raw.get("commit")
            return cls(
                raw["name"],
                steps=[SagaStep.from_raw(step) for step in raw["steps"]],
                commit_operation=(
                    SagaOperation.from_raw(commit, what="commit") if commit else None
                ),
            )
        except (
            KeyError,
            TypeError,
            AttributeError,
            MinosSagaDefinitionException,
        ) as exc:
            raise MinosSagaSerializationException(
                f"a stored saga definition is malformed ({type(exc).__name__}: "
                f"{exc}): {str(raw)[:120]}"
            ) from exc

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Saga)
            and self.name == other.name
            and self.steps == other.steps
            and self.committed == other.committed
            and self.commit_operation == other.commit_operation
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Saga({self.name!r}, steps={len(self.steps)}, committed={self.committed})"
        )
