"""Per-type validation and Avro conversion, compiled once per declared type."""

from .base import *
from .compiler import *
