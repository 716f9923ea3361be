"""A user package for container tests: its classes are re-exported here."""

from .components import BrokenComponent, QueryRepository, UnbuildableComponent
from .consumers import ReadSide, fetch_repository

__all__ = [
    "BrokenComponent",
    "QueryRepository",
    "ReadSide",
    "UnbuildableComponent",
    "fetch_repository",
]
