"""Who and what a message is handled for: carried into the messages it causes."""

from __future__ import annotations

from contextvars import ContextVar
from uuid import UUID

__all__ = ["current_trace_id", "current_user"]

# Set while a handler runs, so the messages it sends share the incoming
# message's trace id and user unless told otherwise.
current_trace_id: ContextVar[UUID | None] = ContextVar(
    "minos_current_trace_id", default=None
)
current_user: ContextVar[UUID | None] = ContextVar("minos_current_user", default=None)
