"""Choosing the transport a configuration asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .abc import Transport
from .kafka import KafkaTransport
from .memory import InMemoryTransport

if TYPE_CHECKING:
    from minos.common import MinosConfig

__all__ = ["transport_from_config"]


def transport_from_config(config: MinosConfig, **kwargs: Any) -> Transport:
    """Kafka when ``broker.host`` is set; otherwise the shared in-process broker."""
    broker = getattr(config, "broker", None)
    host = getattr(broker, "host", None) if broker else None
    if host:
        return KafkaTransport.from_config(config, **kwargs)
    return InMemoryTransport.shared()
