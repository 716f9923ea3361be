"""Avro names of models and enums, and the registry that maps them back to classes."""

from __future__ import annotations

import re
import sys
import weakref
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
    """Make a class findable from its Avro full name."""
    if addressable(cls):
        _REGISTRY[avro_fullname(cls)] = cls


def lookup(fullname: str, search_modules: bool = False) -> Any:
    """The class registered under an Avro full name, if any.

    Models register themselves when defined. With ``search_modules`` (for enums,
    which are not registered until used in a model), the already imported
    modules are searched too: decoding bytes never imports code named by data.
    """
    found = _REGISTRY.get(fullname)
    if found is not None or not search_modules:
        return found
    parts = fullname.split(".")
    for index in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:index]))
        if module is None:
            continue
        target: Any = module
        for attribute in parts[index:]:
            target = getattr(target, attribute, None)
            if target is None:
                break
        if isinstance(target, type):
            return target
    return None
