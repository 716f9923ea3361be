"""Infers the concrete type of a value, for ``Any`` fields and the generic codec."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Union, get_args, get_origin
from uuid import UUID

from .. import abc as _abc
from .. import names as _names
from ..codecs import compiler as _compiler
from .base import NoneType
from .sets import EntitySet, ValueObjectSet

__all__: list[str] = []

_SCALARS = (
    bool,
    int,
    float,
    str,
    bytes,
    UUID,
    datetime,
    date,
    time,
    timedelta,
    Decimal,
)
_EXACT = {t: t for t in _SCALARS} | {NoneType: NoneType}


class UninferableValue(TypeError):
    """A value of a type minos cannot serialize."""


def infer_type(value: Any) -> Any:
    """The concrete type hint of a value (``[1, "a"]`` -> ``list[Union[int, str]]``)."""
    kind = type(value)
    exact = _EXACT.get(kind)
    if exact is not None:
        return exact
    if kind.__dict__.get("_avro_static"):
        return kind
    if isinstance(value, _abc.Model):
        return _compiler.codec_for(kind).concretize(value)
    if isinstance(value, Enum):
        return kind
    if isinstance(value, (list, tuple)):
        return list[merge_types(infer_type(item) for item in value)]
    if isinstance(value, (set, frozenset)):
        return set[merge_types(infer_type(item) for item in value)]
    if isinstance(value, EntitySet):
        return EntitySet[merge_types(infer_type(item) for item in value)]
    if isinstance(value, ValueObjectSet):
        return ValueObjectSet[merge_types(infer_type(item) for item in value)]
    if isinstance(value, dict):
        for key in value:
            if type(key) is not str:
                raise UninferableValue(
                    f"dict keys must be strings to be serialized, got {key!r}"
                )
        return dict[str, merge_types(infer_type(item) for item in value.values())]
    for scalar in _SCALARS:
        if isinstance(value, scalar):
            return scalar
    raise UninferableValue(f"values of type {kind.__name__} cannot be serialized")


_CONTAINERS = (list, set, dict, EntitySet, ValueObjectSet)


def merge_types(hints: Iterable[Any]) -> Any:
    """One hint covering all of ``hints``: equal ones collapse, containers merge."""
    hints = list(hints)
    if not hints:
        return NoneType
    first = hints[0]
    for hint in hints:
        if hint is not first:
            break
    else:
        return first
    unique: list[Any] = []
    containers: dict[Any, list[Any]] = {}
    for hint in hints:
        if get_origin(hint) is Union:
            members = get_args(hint)
        else:
            members = (hint,)
        for member in members:
            origin = get_origin(member)
            if origin in _CONTAINERS:
                if origin not in containers:
                    containers[origin] = []
                    unique.append(origin)
                containers[origin].append(get_args(member)[-1])
            elif not any(member is u or _same(member, u) for u in unique):
                unique.append(member)
    result = []
    for hint in unique:
        if hint in containers:
            inner = merge_types(containers[hint])
            result.append(dict[str, inner] if hint is dict else hint[inner])
        else:
            result.append(hint)
    _check_names(result)
    if not result:
        return NoneType
    if len(result) == 1:
        return result[0]
    return Union[tuple(result)]  # noqa: UP007 - built at runtime


def _same(one: Any, other: Any) -> bool:
    return type(one) is type(other) and one == other and repr(one) == repr(other)


def _check_names(hints: list[Any]) -> None:
    """Two models with one Avro name cannot share a union."""
    seen: dict[str, Any] = {}
    for hint in hints:
        cls = getattr(hint, "cls", hint)
        if isinstance(cls, type) and not issubclass(
            cls, (bool, int, float, str, bytes)
        ):
            if not hasattr(cls, "_declared_hints"):
                continue
            name = _names.avro_fullname(cls)
            if name in seen:
                raise UninferableValue(
                    f"values of {cls.__name__} with different fields cannot share a "
                    "container: give them the same fields"
                )
            seen[name] = hint
