"""Avro bytes and JSON for models and any value minos can carry."""

from . import avro, json
from .avro import *
from .json import *

__all__ = [*avro.__all__, *json.__all__]
