"""How sagas talk to their participants: commands out, replies back."""

from . import abc as _abc
from . import memory as _memory
from . import networks as _networks
from . import replies as _replies
from .abc import *
from .memory import *
from .networks import *
from .replies import *

__all__ = [
    *_abc.__all__,
    *_memory.__all__,
    *_networks.__all__,
    *_replies.__all__,
]
