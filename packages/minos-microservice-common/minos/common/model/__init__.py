"""Typed models: declaration, validation, Avro and JSON serialization."""

from .abc import *
from .codecs import *
from .declarative import *
from .dynamic import *
from .exceptions import *
from .fields import *
from .serializers import *
from .types import *
from .utils import *
