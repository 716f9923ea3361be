"""minos.common: configuration, injection, launcher, models, aggregates and storage."""

from .aggregate import *
from .config import *
from .database import *
from .exceptions import *
from .importlib import *
from .injection import *
from .interfaces import *
from .launcher import *
from .model import *
from .repository import *
from .service import *
from .setup import *
from .snapshot import *
from .storage import *

__version__ = "1.0.0a1"
