"""Resolving references in incoming events before a query service uses them.

An event of another service carries ``ModelRef[T]`` fields as bare UUIDs.
``PreEventHandler.handle`` asks the service owning ``T`` for those models
(one ``Get<T>s`` command per type, with ``{"uuids": [...]}``, answered over
an ephemeral reply topic) and returns the diff with the models in place.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterable
from typing import Any, Union, get_args, get_origin
from uuid import UUID

from dependency_injector.wiring import Provide, inject

from minos.common import AggregateDiff, FieldDiff, ModelRef, decode_value
from minos.common.aggregate.diffs import FieldDiffContainer

__all__ = ["PreEventHandler"]

logger = logging.getLogger(__name__)

_UNIONS = (Union, types.UnionType)
_SEQUENCES = (list, set, frozenset, tuple)


def _typed_value(diff: FieldDiff) -> tuple[Any, Any]:
    """A field's value and the type it was written with (``None`` if unknown)."""
    wrapper = decode_value(diff.data)
    fields = getattr(wrapper, "fields", None)
    if isinstance(fields, dict) and set(fields) == {"value"}:
        return fields["value"].value, fields["value"].type
    return diff.value, None


def _walk(value: Any, hint: Any, found: dict[str, tuple[Any, set[UUID]]]) -> None:
    """Collect, by model name, the UUIDs sitting where ``hint`` says ModelRef."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is ModelRef:
        if isinstance(value, UUID):
            target = args[0]
            found.setdefault(target.__name__, (target, set()))[1].add(value)
    elif origin in _UNIONS:
        for arg in args:
            if arg is not type(None):
                _walk(value, arg, found)
    elif origin in _SEQUENCES and isinstance(value, Iterable) and args:
        for item in value:
            _walk(item, args[0], found)
    elif origin is dict and isinstance(value, dict) and len(args) == 2:
        for item in value.values():
            _walk(item, args[1], found)


def _replace(value: Any, hint: Any, models: dict[UUID, Any]) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin is ModelRef:
        return models.get(value, value) if isinstance(value, UUID) else value
    if origin in _UNIONS:
        for arg in args:
            if arg is not type(None):
                value = _replace(value, arg, models)
        return value
    if origin in _SEQUENCES and isinstance(value, Iterable) and args:
        return type(value)(_replace(item, args[0], models) for item in value)
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return {key: _replace(item, args[1], models) for key, item in value.items()}
    return value


class PreEventHandler:
    """Replaces the UUIDs of ``ModelRef`` fields in a diff by their models."""

    @classmethod
    @inject
    async def handle(
        cls,
        diff: Any,
        user: UUID | None = None,
        *,
        broker: Any = Provide["command_broker"],
        pool: Any = Provide["dynamic_handler_pool"],
        reply_timeout: float = 10.0,
    ) -> Any:
        """``diff`` with its references resolved; unchanged if it has none.

        A type whose owner does not answer in ``reply_timeout`` seconds (or answers
        with an error) keeps its UUIDs, and a WARNING says which.
        """
        if not isinstance(diff, AggregateDiff):
            return diff
        typed = {name: _typed_value(fd) for name, fd in _plain_fields(diff)}
        found: dict[str, tuple[Any, set[UUID]]] = {}
        for value, hint in typed.values():
            _walk(value, hint, found)
        if not found:
            return diff

        models: dict[UUID, Any] = {}
        for name, (_, uuids) in sorted(found.items()):
            models.update(
                await cls._query(name, uuids, user, broker, pool, reply_timeout)
            )

        replaced = []
        for field_diff in diff.fields_diff.diffs:
            if field_diff.name in typed and type(field_diff) is FieldDiff:
                value, hint = typed[field_diff.name]
                value = _replace(value, hint, models)
                field_diff = FieldDiff(field_diff.name, value, hint=hint)
            replaced.append(field_diff)
        return AggregateDiff(
            diff.uuid,
            diff.name,
            diff.version,
            diff.action,
            diff.created_at,
            FieldDiffContainer(replaced),
        )

    @staticmethod
    async def _query(
        name: str,
        uuids: set[UUID],
        user: UUID | None,
        broker: Any,
        pool: Any,
        reply_timeout: float,
    ) -> dict[UUID, Any]:
        topic = f"Get{name}s"
        if isinstance(broker, Provide) or isinstance(pool, Provide):
            logger.warning(
                "Cannot resolve %s references: no command_broker or "
                "dynamic_handler_pool injection",
                name,
            )
            return {}
        try:
            async with pool.acquire() as handler:
                await broker.send(
                    {"uuids": sorted(uuids, key=str)},
                    topic,
                    reply_topic=handler.topic,
                    user=user,
                )
                reply = await handler.get_one(timeout=reply_timeout)
        except Exception as exc:  # the event is still handled, unresolved
            logger.warning(
                "Resolving %s references with %s failed: %s", name, topic, exc
            )
            return {}
        if not getattr(reply, "ok", False):
            logger.warning("%s answered %r: references stay UUIDs", topic, reply.data)
            return {}
        return {
            UUID(str(_uuid_of(model))): model
            for model in reply.data or ()
            if _uuid_of(model) is not None
        }


def _plain_fields(diff: AggregateDiff) -> list[tuple[str, FieldDiff]]:
    return [(fd.name, fd) for fd in diff.fields_diff.diffs if type(fd) is FieldDiff]


def _uuid_of(model: Any) -> Any:
    if isinstance(model, dict):
        return model.get("uuid")
    return getattr(model, "uuid", None)
