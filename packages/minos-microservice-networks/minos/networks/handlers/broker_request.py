"""The request a broker handler receives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from ..messages import Message
from ..requests import Request

__all__ = ["BrokerRequest"]


class BrokerRequest(Request):
    """A received message seen as a ``Request``: its content is the message data."""

    def __init__(self, raw: Message) -> None:
        self.raw = raw

    @property
    def user(self) -> UUID | None:
        return self.raw.user

    @property
    def headers(self) -> Mapping[str, str]:
        return self.raw.headers

    @property
    def has_content(self) -> bool:
        return self.raw.data is not None

    async def content(self, **kwargs: Any) -> Any:
        return self.raw.data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BrokerRequest) and self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BrokerRequest({self.raw!r})"
