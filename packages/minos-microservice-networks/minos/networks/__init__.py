"""minos.networks: messages, brokers, handlers, REST, routing, discovery, scheduling."""

from .brokers import *
from .decorators import *
from .discovery import *
from .exceptions import *
from .handlers import *
from .messages import *
from .requests import *
from .rest import *
from .scheduling import *
from .snapshots import *
from .transport import *

__version__ = "1.0.0a1"
