"""minos.saga: saga definitions, durable execution and compensation."""

from .exceptions import *
from .context import *
from .definitions import *
from .executions import *
from .manager import *

__version__ = "1.0.0a1"
