"""The enroute routing decorators and the code that turns them into handlers."""

from .analyzers import *
from .builders import *
from .definitions import *
