"""minos.common: configuration, injection, launcher, models, aggregates and storage."""

from .exceptions import *
from .setup import *
from .importlib import *
from .config import *
from .database import *
from .model import *
from .service import *
from .injection import *
from .launcher import *
from .aggregate import *
from .repository import *
from .snapshot import *
from .storage import *

__version__ = "1.0.0a1"
