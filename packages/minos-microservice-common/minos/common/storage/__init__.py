"""Key-value storage on LMDB."""

from . import abc as _abc
from . import exceptions as _exceptions
from . import lmdb as _lmdb
from .abc import *
from .exceptions import *
from .lmdb import *

__all__ = [*_abc.__all__, *_exceptions.__all__, *_lmdb.__all__]
