"""minos.cqrs: command and query services."""

from .exceptions import *
from .handlers import *
from .services import *

__version__ = "1.0.0a1"
