"""Loading objects from dotted paths such as ``minos.common.PostgreSqlPool``."""

from __future__ import annotations

import importlib
import re
from typing import Any

from .exceptions import MinosImportException

__all__ = ["import_module", "classname"]

_DOTTED_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def import_module(path: str) -> Any:
    """Return the module, class or attribute a dotted path names.

    The longest importable module prefix is imported and the rest of the path
    is read as attributes, so ``"a.b.C"`` and ``"a.b.C.method"`` both work.
    Any failure raises ``MinosImportException`` naming the path and the cause.
    """
    if not isinstance(path, str) or not _DOTTED_PATH.match(path):
        raise MinosImportException(
            f"cannot import {path!r} (not a dotted path such as 'package.module.Name')"
        )

    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and _is_prefix(exc.name, module_name):
                continue  # this prefix is not a module: try a shorter one
            raise MinosImportException(
                f"cannot import {path!r} (importing {module_name!r} failed: {exc})"
            ) from exc
        except Exception as exc:
            raise MinosImportException(
                f"cannot import {path!r} (importing {module_name!r} failed: "
                f"{type(exc).__name__}: {exc})"
            ) from exc
        return _read_attributes(path, obj, module_name, parts[cut:])

    raise MinosImportException(f"cannot import {path!r} (no module named {parts[0]!r})")


def classname(cls: type | Any) -> str:
    """Return the dotted path ``import_module`` resolves back to ``cls``."""
    if not isinstance(cls, type):
        cls = type(cls)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_prefix(missing: str, module_name: str) -> bool:
    """Tell whether the missing module is ``module_name`` or one of its parents."""
    return module_name == missing or module_name.startswith(missing + ".")


def _read_attributes(path: str, obj: Any, owner: str, names: list[str]) -> Any:
    for name in names:
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise MinosImportException(
                f"cannot import {path!r} ({owner!r} has no attribute {name!r})"
            ) from None
        owner = f"{owner}.{name}"
    return obj
