"""Everything the launcher wires, in one module (the seed's ``src`` package role)."""

from .aggregates import Item, Location
from .commands import PLACE_ORDER, BenchCommandService
from .queries import BenchQueryService

__all__ = [
    "PLACE_ORDER",
    "BenchCommandService",
    "BenchQueryService",
    "Item",
    "Location",
]
