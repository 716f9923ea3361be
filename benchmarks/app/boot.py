"""Brings the benchmark service's injections up inside a worker, for either side.

The original release and this project share the seed's public API, so the
same code runs on both: ``EntrypointLauncher.from_config(config=...,
external_modules=[...])`` builds the container from ``service.injections``
and ``setup()`` wires it. The interpreter running it decides the side.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from ..measure import Unavailable
from .config import STORE_INJECTIONS, service_config, write_config

__all__ = [
    "booted",
    "build_launcher",
    "config_for",
    "ensure_available",
    "service_process",
]

# Every side logs at WARNING so that the runs compare the framework's work,
# not how much each side writes to its log at INFO.
LOG_LEVEL = logging.WARNING


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Unavailable(f"{type(exc).__name__}: {exc}") from exc


def ensure_available() -> Any:
    """``minos.common`` once the framework and the app import on this side."""
    common = _import("minos.common")
    for name in (
        "minos.networks",
        "minos.saga",
        "minos.cqrs",
        "benchmarks.app.service",
    ):
        _import(name)
    for name in ("EntrypointLauncher", "MinosConfig"):
        if not hasattr(common, name):
            raise Unavailable(f"minos.common has no {name} yet")
    return common


def build_launcher(config_path: Path) -> Any:
    """This side's ``EntrypointLauncher`` for ``config_path``."""
    logging.basicConfig(level=LOG_LEVEL)
    logging.getLogger().setLevel(LOG_LEVEL)
    common = ensure_available()
    launcher_cls = common.EntrypointLauncher
    config = common.MinosConfig(config_path)
    # Only ``injected`` is wired: the app asks the container for nothing else.
    # Wiring a module that holds an Aggregate subclass would patch its
    # inherited, already patched class methods a second time in the original
    # release (``Aggregate.get() got multiple values for argument '_snapshot'``
    # with dependency-injector 4.46 and later).
    modules = [_import("benchmarks.app.injected")]
    return launcher_cls.from_config(
        config=config, external_modules=modules, log_level=LOG_LEVEL
    )


def _require(path: str) -> None:
    """Import the object a dotted configuration path names, or say it is missing."""
    module_name, _, attribute = path.rpartition(".")
    module = _import(module_name)
    if not hasattr(module, attribute):
        raise Unavailable(f"{module_name} has no {attribute} yet (config: {path})")


def _named_objects(config: dict[str, Any]) -> list[str]:
    service = config["service"]
    return [
        service["aggregate"],
        *service["injections"].values(),
        *service["services"],
        config["commands"]["service"],
        config["queries"]["service"],
    ]


def config_for(
    params: dict[str, Any],
    injections: dict[str, str] | None = None,
    services: list[str] | None = None,
    rest_port: int = 8082,
) -> Path:
    """Write the run's ``config.yml`` from the servers the runner gave, once
    every class it names exists on this side (``Unavailable`` otherwise)."""
    config = service_config(
        params["postgres"],
        params.get("kafka", "127.0.0.1:9092"),
        params["workdir"],
        rest_port=rest_port,
        injections=injections,
        services=services,
    )
    ensure_available()
    for path in _named_objects(config):
        _require(path)
    return write_config(config, params["workdir"])


@contextlib.asynccontextmanager
async def booted(
    params: dict[str, Any], injections: dict[str, str] | None = None
) -> AsyncIterator[Any]:
    """Wire the container and set up every injection; tear them down after."""
    path = config_for(
        params, STORE_INJECTIONS if injections is None else injections, []
    )
    launcher = build_launcher(path)
    await launcher.setup()
    try:
        yield launcher
    finally:
        await launcher.destroy()


@contextlib.asynccontextmanager
async def service_process(params: dict[str, Any]) -> AsyncIterator[str]:
    """The whole benchmark service (the seed's injections and services) in a
    child process under this interpreter; yields its base URL."""
    from ..workloads.raw import APP_TOPICS, ensure_topics
    from .process import served

    port = int(params["port"])
    path = config_for(params, rest_port=port)
    await ensure_topics(params["kafka"], APP_TOPICS)
    base = f"http://127.0.0.1:{port}"
    log = Path(params["workdir"]) / "service.log"
    async with served("benchmarks.app.serve", [str(path)], f"{base}/items", log):
        yield base
