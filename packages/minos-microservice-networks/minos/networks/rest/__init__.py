"""The REST interface: routes from the enroute decorators served over aiohttp."""

from .exceptions import *
from .handlers import *
from .health import *
from .requests import *
from .responses import *
from .services import *
