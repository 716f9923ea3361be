"""The consumer and the handlers that dispatch incoming messages."""

from . import broker_request, consumer, dispatch, dynamic, handlers, inbox, services
from .broker_request import *
from .consumer import *
from .dispatch import *
from .dynamic import *
from .handlers import *
from .inbox import *
from .services import *

__all__ = [
    *broker_request.__all__,
    *consumer.__all__,
    *dispatch.__all__,
    *dynamic.__all__,
    *handlers.__all__,
    *inbox.__all__,
    *services.__all__,
]
