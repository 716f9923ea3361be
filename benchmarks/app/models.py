"""A nested model in the framework's public model API, for the model workload."""

from __future__ import annotations

from typing import Optional
from uuid import UUID

from minos.common import DeclarativeModel


class Address(DeclarativeModel):
    street: str
    city: str
    zip_code: int


class Contact(DeclarativeModel):
    kind: str
    value: str


class Customer(DeclarativeModel):
    id: UUID
    name: str
    age: int
    score: float
    active: bool
    tags: list[str]
    address: Address
    contacts: list[Contact]
    # The seed's model API resolves typing.Optional, not the X | None spelling.
    nickname: Optional[str]  # noqa: UP045
