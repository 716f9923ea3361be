"""minos.networks: messages, brokers, handlers, REST, routing, discovery, scheduling."""

from .exceptions import *
from .decorators import *
from .requests import *
from .messages import *
from .transport import *
from .brokers import *
from .handlers import *
from .rest import *
from .scheduling import *
from .discovery import *
from .snapshots import *

__version__ = "1.0.0a1"
