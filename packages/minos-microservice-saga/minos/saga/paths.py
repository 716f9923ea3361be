"""Naming module-level objects by path so a stored saga can find them again.

A path is ``"module:qualname"`` (``"src.sagas:build_refund"``,
``"src.models:Book"``). The module part may be any name in ``sys.modules``
(test modules have names that are not valid dotted paths). Plain dotted paths
(``"src.sagas.build_refund"``) are accepted when reading.

Paths read from storage are data, not code: ``resolve_callback`` and
``resolve_class`` only return the kinds of objects a saga stores (functions of
the application, classes of a given base), never builtins nor standard library
functions, and they never import a standard library module on their own.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from types import ModuleType
from typing import Any

from minos.common import MinosImportException

__all__ = [
    "callback_problem",
    "object_path",
    "resolve_callback",
    "resolve_class",
    "resolve_path",
]

_STANDARD = frozenset(sys.stdlib_module_names) | {"builtins", "__future__"}


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


def resolve_path(path: str, *, standard_imports: bool = True) -> Any:
    """Return the object ``path`` names; raise ``MinosImportException`` if none.

    With ``standard_imports=False`` a standard library module is only looked up
    when it is already imported (importing some of them has side effects).
    """
    if not isinstance(path, str) or not path:
        raise MinosImportException(f"cannot import {path!r} (not a path)")
    if ":" in path:
        module_name, _, qualname = path.partition(":")
        return _attribute(_module(module_name, path, standard_imports), qualname, path)

    # A dotted path: the longest importable prefix is the module.
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            module = _module(module_name, path, standard_imports)
        except MinosImportException:
            continue
        return _attribute(module, ".".join(parts[cut:]), path)
    raise MinosImportException(f"cannot import {path!r} (no module of it imports)")


def callback_problem(obj: Any) -> str | None:
    """Why ``obj`` cannot be a saga callback, or ``None`` when it can.

    Callbacks are Python functions (module-level functions, static methods, or
    class methods) of the application: builtins and standard library functions
    are refused, so that stored data can never name ``os.system`` or ``eval``.
    """
    function = obj
    if inspect.ismethod(obj) and inspect.isclass(obj.__self__):
        function = obj.__func__
    if not inspect.isfunction(function):
        return (
            f"it is a {type(obj).__name__}, not a Python function (builtins, "
            "classes and callable objects cannot be saga callbacks)"
        )
    module = getattr(function, "__module__", None)
    if not isinstance(module, str) or _is_standard(module):
        return (
            f"it belongs to the standard library ({module}); wrap it in a "
            "function of your own"
        )
    return None


def resolve_callback(path: str) -> Any:
    """The saga callback stored as ``path``; raise unless it is one (see above)."""
    if not isinstance(path, str) or not path:
        raise MinosImportException(f"cannot import the callback {path!r}")
    if _is_standard(path.partition(":")[0]):
        raise MinosImportException(
            f"{path!r} is in the standard library, which holds no saga callbacks"
        )
    obj = resolve_path(path, standard_imports=False)
    problem = callback_problem(obj)
    if problem is not None:
        raise MinosImportException(f"{path!r} is not a saga callback: {problem}")
    return obj


def resolve_class(path: str, base: type) -> type:
    """The subclass of ``base`` stored as ``path``; raise for anything else."""
    obj = resolve_path(path, standard_imports=False)
    if not inspect.isclass(obj) or not issubclass(obj, base):
        raise MinosImportException(
            f"{path!r} is a {type(obj).__name__}, not a subclass of {base.__name__}"
        )
    return obj


def _is_standard(module: str) -> bool:
    return module.partition(".")[0] in _STANDARD


def _module(name: str, path: str, standard_imports: bool) -> ModuleType:
    module = sys.modules.get(name)
    if module is not None:
        return module
    if not standard_imports and _is_standard(name):
        raise MinosImportException(
            f"cannot import {path!r} ({name!r} is a standard library module that "
            "is not imported; stored data does not import it)"
        )
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise MinosImportException(
            f"cannot import {path!r} (importing {name!r} failed: "
            f"{type(exc).__name__}: {exc})"
        ) from exc


def _attribute(module: ModuleType, qualname: str, path: str) -> Any:
    obj: Any = module
    for name in qualname.split("."):
        if not name or (name.startswith("__") and name.endswith("__")):
            raise MinosImportException(
                f"cannot import {path!r} ({qualname!r} is not a plain name)"
            )
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise MinosImportException(
                f"cannot import {path!r} ({module.__name__!r} has no attribute "
                f"{qualname!r})"
            ) from None
    return obj
