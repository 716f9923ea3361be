"""Messages exchanged between microservices."""

from . import exceptions, messages
from .exceptions import *
from .messages import *

__all__ = [
    *exceptions.__all__,
    *messages.__all__,
]
