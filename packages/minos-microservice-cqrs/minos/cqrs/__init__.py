"""minos.cqrs: command and query services."""

from .exceptions import *
from .services import *
from .handlers import *

__version__ = "1.0.0a1"
