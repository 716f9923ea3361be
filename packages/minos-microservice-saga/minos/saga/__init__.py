"""minos.saga: saga definitions, durable execution and compensation."""

from . import context as _context
from . import definitions as _definitions
from . import exceptions as _exceptions
from . import executions as _executions
from . import manager as _manager
from . import participants as _participants
from .context import *
from .definitions import *
from .exceptions import *
from .executions import *
from .manager import *
from .participants import *

__all__ = [
    *_context.__all__,
    *_definitions.__all__,
    *_exceptions.__all__,
    *_executions.__all__,
    *_manager.__all__,
    *_participants.__all__,
]

__version__ = "1.0.0a1"
