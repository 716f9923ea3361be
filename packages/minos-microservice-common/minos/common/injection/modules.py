"""Which modules the container wires, so ``Provide[...]`` markers receive values."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import ModuleType

from ..exceptions import MinosImportException
from ..importlib import import_module

__all__ = ["FRAMEWORK_PACKAGES", "framework_modules", "user_modules"]

FRAMEWORK_PACKAGES = ("minos.common", "minos.networks", "minos.saga", "minos.cqrs")


def framework_modules() -> list[ModuleType]:
    """Return the minos packages loaded so far.

    A package nobody imported (no injection, service or user module uses it)
    has no markers that matter, so it is neither imported nor wired.
    """
    # Limitation: a minos package first imported after wiring (lazily, inside a
    # function) is not wired; import it from the service's modules instead.
    loaded = [sys.modules[name] for name in FRAMEWORK_PACKAGES if name in sys.modules]
    # Their submodules too: a class attribute marker is restored by ``unwire``
    # only when the module defining the class is among the unwired modules.
    return user_modules(loaded)


def user_modules(modules: Iterable[ModuleType | str]) -> list[ModuleType]:
    """Import the given modules and add the submodules of packages already imported.

    A package such as ``src`` usually re-exports its classes, but ``@inject``
    functions are bound by the module that defines them, so every loaded
    ``src.*`` submodule is wired too. Nothing new is imported for that.
    """
    result: list[ModuleType] = []
    for module in modules:
        if isinstance(module, str):
            loaded = import_module(module)
            if not isinstance(loaded, ModuleType):
                raise MinosImportException(f"{module!r} names {loaded!r}, not a module")
            module = loaded
        result.append(module)
        if hasattr(module, "__path__"):
            prefix = module.__name__ + "."
            result.extend(
                submodule
                for name, submodule in sorted(sys.modules.items())
                if name.startswith(prefix) and isinstance(submodule, ModuleType)
            )
    return list(dict.fromkeys(result))
