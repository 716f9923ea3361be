"""The context carried between saga steps, and how its values are stored."""

from . import context as _context
from .context import *

__all__ = [*_context.__all__]
