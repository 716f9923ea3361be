"""Field types beyond the builtins: references, entity and value-object sets."""

from . import refs, sets
from .base import MISSING, NoneType, type_repr
from .refs import *
from .sets import *

__all__ = [*refs.__all__, *sets.__all__]
