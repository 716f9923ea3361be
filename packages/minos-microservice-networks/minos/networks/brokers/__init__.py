"""Brokers that enqueue outgoing messages, the producer that sends them."""

from . import brokers, context, outbox, producer
from .brokers import *
from .context import *
from .outbox import *
from .producer import *

__all__ = [
    *brokers.__all__,
    *context.__all__,
    *outbox.__all__,
    *producer.__all__,
]
