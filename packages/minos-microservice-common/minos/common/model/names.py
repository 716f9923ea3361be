"""Avro names of models and enums, and the registry that maps them back to classes."""

from __future__ import annotations

import keyword
import re
import weakref
from collections.abc import Iterable
from typing import Any

__all__: list[str] = []

_INVALID = re.compile(r"[^A-Za-z0-9_]")

#: Classes that can be found again from the Avro full name written in the bytes.
_REGISTRY: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()


def _clean(part: str) -> str:
    part = _INVALID.sub("_", part)
    if not part or part[0].isdigit():
        part = "_" + part
    return part


def avro_name(cls: type) -> tuple[str, str | None]:
    """The Avro ``(name, namespace)`` of a class: its qualified module path."""
    explicit = cls.__dict__.get("_avro_name")
    if explicit is not None:
        return explicit
    parts = [_clean(p) for p in f"{cls.__module__}.{cls.__qualname__}".split(".")]
    return parts[-1], ".".join(parts[:-1]) or None


def avro_fullname(cls: type) -> str:
    """The Avro full name (``namespace.name``) of a class."""
    name, namespace = avro_name(cls)
    return f"{namespace}.{name}" if namespace else name


def addressable(cls: type) -> bool:
    """Whether a class can be found by name (not defined inside a function)."""
    return "<locals>" not in cls.__qualname__


def register(cls: type) -> None:
    """Make a class findable from its Avro full name (not classes built from bytes)."""
    if addressable(cls) and not cls.__dict__.get("_from_bytes"):
        _REGISTRY[avro_fullname(cls)] = cls


def lookup(fullname: str) -> Any:
    """The class registered under an Avro full name, if any.

    Models register themselves when defined, enums when a model using them is
    first compiled. Modules are never searched: a name read from bytes must not
    reach attributes (or a module ``__getattr__``) it was not meant to.
    """
    return _REGISTRY.get(fullname)


#: Public members of the model base classes a field must not hide. ``items`` and
#: ``values`` are allowed (aggregates commonly declare them): on such models the
#: field replaces the mapping method, and ``keys()`` with ``model[name]`` remain.
_ALLOWED_SHADOWS = frozenset({"items", "values"})


def reserved_names(classes: Iterable[type]) -> frozenset[str]:
    """Public methods and properties of the minos model classes among ``classes``."""
    names: set[str] = set()
    for klass in classes:
        if not klass.__module__.startswith(__name__.rpartition(".")[0]):
            continue
        fields = klass.__dict__.get("__annotations__", {})
        for name, value in klass.__dict__.items():
            if name.startswith("_") or name in fields or name in _ALLOWED_SHADOWS:
                continue
            if callable(value) or hasattr(value, "__get__"):
                names.add(name)
    return frozenset(names)


_MODEL_MEMBERS: frozenset[str] | None = None


def model_members() -> frozenset[str]:
    """The reserved names of every model kind (for field names read from bytes)."""
    global _MODEL_MEMBERS
    if _MODEL_MEMBERS is None:
        from .dynamic import BucketModel, DataTransferObject

        _MODEL_MEMBERS = reserved_names(
            [*BucketModel.__mro__, *DataTransferObject.__mro__]
        )
    return _MODEL_MEMBERS


def field_name_problem(name: Any, reserved: frozenset[str]) -> str | None:
    """Why ``name`` cannot be a field name, or ``None`` when it can."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        return "is not a valid field name (use a Python identifier)"
    if name.startswith("_"):
        return "cannot be a field name (names starting with '_' are not fields)"
    if name in reserved:
        return (
            "cannot be a field name: it would hide the model member of that name; "
            "rename the field"
        )
    return None


def check_field_name(owner: str, name: Any, error: type[Exception]) -> None:
    """Raise ``error`` if a field name read from bytes cannot be a field name."""
    problem = field_name_problem(name, model_members())
    if problem is not None:
        raise error(f"{owner}: {name!r} {problem}")
