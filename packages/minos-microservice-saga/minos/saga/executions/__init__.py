"""Saga executions: running a definition step by step, durably."""

from . import saga as _saga
from . import status as _status
from . import step as _step
from . import storage as _storage
from .saga import *
from .status import *
from .step import *
from .storage import *

__all__ = [*_saga.__all__, *_status.__all__, *_step.__all__, *_storage.__all__]
