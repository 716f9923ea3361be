"""Transports that carry messages: Kafka and in-process."""

from . import abc, exceptions, factory, kafka, memory
from .abc import *
from .exceptions import *
from .factory import *
from .kafka import *
from .memory import *

__all__ = [
    *abc.__all__,
    *exceptions.__all__,
    *factory.__all__,
    *kafka.__all__,
    *memory.__all__,
]
