"""minos.saga: saga definitions, durable execution and compensation."""

from .context import *
from .definitions import *
from .exceptions import *
from .executions import *
from .manager import *

__version__ = "1.0.0a1"
