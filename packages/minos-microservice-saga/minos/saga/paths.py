"""Naming module-level objects by path so a stored saga can find them again.

A path is ``"module:qualname"`` (``"src.sagas:build_refund"``,
``"src.models:Book"``). The module part may be any name in ``sys.modules``
(test modules have names that are not valid dotted paths). Plain dotted paths
(``"src.sagas.build_refund"``) are accepted when reading.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

from minos.common import MinosImportException, import_module

__all__ = ["object_path", "resolve_path"]


def object_path(obj: Any) -> str | None:
    """Return the path of ``obj``, or ``None`` when it cannot be found by one.

    Lambdas, functions defined inside functions and bound methods of instances
    have no path.
    """
    if inspect.ismethod(obj) and not inspect.isclass(obj.__self__):
        return None
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    if "<" in qualname:
        return None
    path = f"{module}:{qualname}"
    try:
        found = resolve_path(path)
    except MinosImportException:
        return None
    if found is not obj and found != obj:
        return None
    return path


def resolve_path(path: str) -> Any:
    """Return the object ``path`` names; raise ``MinosImportException`` if none."""
    if not isinstance(path, str) or not path:
        raise MinosImportException(f"cannot import {path!r} (not a path)")
    if ":" not in path:
        return import_module(path)

    module_name, _, qualname = path.partition(":")
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise MinosImportException(
                f"cannot import {path!r} (importing {module_name!r} failed: "
                f"{type(exc).__name__}: {exc})"
            ) from exc

    obj: Any = module
    for name in qualname.split("."):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise MinosImportException(
                f"cannot import {path!r} ({module_name!r} has no attribute "
                f"{qualname!r})"
            ) from None
    return obj
