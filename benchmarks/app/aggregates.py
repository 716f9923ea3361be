"""The benchmark service's root aggregate, in the framework's public API."""

from __future__ import annotations

from minos.common import Aggregate, ValueObject


class Location(ValueObject):
    street: str
    city: str


class Item(Aggregate):
    name: str
    count: int
    tags: list[str]
    location: Location
