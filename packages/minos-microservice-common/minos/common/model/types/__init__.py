"""Field types beyond the builtins: references, entity and value-object sets."""

from .base import *
from .refs import *
from .sets import *
