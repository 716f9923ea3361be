"""Avro bytes and JSON for models and any value minos can carry."""

from .avro import *
from .json import *
