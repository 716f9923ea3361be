"""The dependency-injection container built from ``service.injections``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from dependency_injector import containers, providers

from ..config import MinosConfig
from ..exceptions import MinosException, MinosImportException
from ..importlib import classname, import_module
from .exceptions import InjectionException
from .modules import framework_modules, user_modules

__all__ = ["DependencyInjector"]

logger = logging.getLogger(__name__)


class DependencyInjector:
    """Builds each injection once and hands it to ``Provide["name"]`` markers.

    Every entry of ``service.injections`` becomes a singleton built with
    ``cls.from_config(config)``; the configuration itself is registered as
    ``"config"``. ``injections`` replaces the configured ones: values may be
    classes, dotted paths, ready instances or ``dependency_injector`` providers.

    ``wire`` binds the markers of the loaded minos packages and of the given
    modules (function defaults under ``@inject`` and class attributes alike;
    dependency-injector reads both from every class a module exposes, so a
    package that re-exports its classes is enough), then sets
    up every injection in configuration order. A component that needs another
    one during its own setup asks the container (or awaits the other's idempotent
    ``setup()``), so the order never has to be topological. ``unwire`` destroys
    them in reverse order and restores the markers.
    """

    def __init__(
        self, config: MinosConfig, injections: Mapping[str, Any] | None = None
    ) -> None:
        self.config = config
        if injections is None:
            self._targets = self._configured_targets()
        else:
            self._targets = {
                name: _resolve(name, target) for name, target in injections.items()
            }
        if "config" in self._targets:
            raise InjectionException(
                "injection 'config' is reserved for the configuration; rename it"
            )
        self.container = self._build_container()
        self._wired = False
        self._ready: list[tuple[str, Any]] = []
        self._previous_config: MinosConfig | None = None

    def _configured_targets(self) -> dict[str, Any]:
        return {
            name: self.config.import_object(f"service.injections.{name}")
            for name in self.config.service.injections
        }

    def _build_container(self) -> containers.DynamicContainer:
        container = containers.DynamicContainer()
        container.set_provider("config", providers.Object(self.config))
        for name, target in self._targets.items():
            container.set_provider(name, self._provider(name, target))
        return container

    def _provider(self, name: str, target: Any) -> providers.Provider:
        if isinstance(target, providers.Provider):
            return target
        if isinstance(target, type):
            return providers.Singleton(_build, name, target, self.config)
        return providers.Object(target)

    @property
    def names(self) -> list[str]:
        """Return the injection names in setup order (``config`` excluded)."""
        return list(self._targets)

    def get(self, name: str) -> Any:
        """Return the instance registered as ``name`` (built on first use)."""
        if name != "config" and name not in self._targets:
            known = ", ".join(["config", *self._targets]) or "none"
            raise InjectionException(
                f"no injection named {name!r}; the container has: {known}"
            )
        return self.container.providers[name]()

    async def wire(
        self, modules: Iterable[ModuleType | str] = (), *, setup: bool = True
    ) -> None:
        """Bind ``Provide[...]`` markers, make the config current, set everything up."""
        if self._wired:
            raise InjectionException("the container is already wired; unwire it first")
        self._previous_config = MinosConfig.set_current(self.config)
        try:
            loaded = user_modules(modules)
            targets = [*framework_modules(), *loaded]
        except MinosImportException as exc:
            MinosConfig.set_current(self._previous_config)
            raise InjectionException(f"cannot wire: {exc.message}") from exc
        try:
            self._wired = True
            self.container.wire(modules=targets)
            logger.debug("wired %d modules", len(targets))
            if setup:
                await self.setup()
        except BaseException:
            await self.unwire()
            raise

    async def setup(self) -> None:
        """Build and set up every injection in order; undo all if one fails."""
        for name in self._targets:
            if any(done == name for done, _ in self._ready):
                continue
            instance = self.get(name)
            try:
                setup = getattr(instance, "setup", None)
                if setup is not None and inspect.iscoroutinefunction(setup):
                    await setup()
            except Exception as exc:
                logger.error("injection %r failed to set up: %s", name, exc)
                await self.destroy()
                raise InjectionException(
                    f"injection {name!r} ({classname(instance)}) failed to set up: "
                    f"{_reason(exc)}"
                ) from exc
            self._ready.append((name, instance))
            logger.debug("injection %r is ready", name)

    async def destroy(self) -> None:
        """Destroy the set-up injections in reverse order; log, never raise, errors."""
        while self._ready:
            name, instance = self._ready.pop()
            destroy = getattr(instance, "destroy", None)
            if destroy is None or not inspect.iscoroutinefunction(destroy):
                continue
            try:
                await destroy()
            except Exception:
                logger.exception("injection %r failed to shut down", name)

    async def unwire(self) -> None:
        """Destroy every injection, restore the markers and the previous config."""
        await self.destroy()
        if self._wired:
            self.container.unwire()
            self._wired = False
        self.container.reset_singletons()
        if MinosConfig._current is self.config:
            MinosConfig.set_current(self._previous_config)
        self._previous_config = None


def _resolve(name: str, target: Any) -> Any:
    if not isinstance(target, str):
        return target
    try:
        return import_module(target)
    except MinosImportException as exc:
        raise InjectionException(f"injection {name!r}: {exc.message}") from exc


def _build(name: str, cls: type, config: MinosConfig) -> Any:
    """Build one injection, naming it if its construction fails."""
    try:
        from_config = getattr(cls, "from_config", None)
        if from_config is None:
            return cls()
        return from_config(config)
    except Exception as exc:
        raise InjectionException(
            f"injection {name!r} ({classname(cls)}) cannot be built: {_reason(exc)}"
        ) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, MinosException):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
