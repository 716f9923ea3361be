"""Container lookups through ``Provide``, the way user code reaches injections.

The launcher wires this module on both sides; it holds no aggregate, so
wiring it patches nothing else.
"""

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject


def _provided(name: str, instance: Any) -> Any:
    if instance is None or isinstance(instance, Provide):
        raise RuntimeError(f"the container did not provide {name!r}: is it wired?")
    return instance


@inject
def repository(instance: Any = Provide["repository"]) -> Any:
    return _provided("repository", instance)


@inject
def event_broker(instance: Any = Provide["event_broker"]) -> Any:
    return _provided("event_broker", instance)
