"""Saga definitions: ``Saga(name).step().invoke_participant(...)...commit()``."""

from . import operations as _operations
from . import saga as _saga
from . import step as _step
from .operations import *
from .saga import *
from .step import *

__all__ = [*_operations.__all__, *_saga.__all__, *_step.__all__]
