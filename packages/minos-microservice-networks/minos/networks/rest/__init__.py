"""The REST interface: routes from the enroute decorators served over aiohttp."""

from .encoding import *
from .exceptions import *
from .handlers import *
from .health import *
from .requests import *
from .responses import *
from .services import *
