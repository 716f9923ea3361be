"""The model workload's customer in pydantic v2: the validation ceiling."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


class PydanticAddress(BaseModel):
    street: str
    city: str
    zip_code: int


class PydanticContact(BaseModel):
    kind: str
    value: str


class PydanticCustomer(BaseModel):
    id: UUID
    name: str
    age: int
    score: float
    active: bool
    tags: list[str]
    address: PydanticAddress
    contacts: list[PydanticContact]
    nickname: str | None
