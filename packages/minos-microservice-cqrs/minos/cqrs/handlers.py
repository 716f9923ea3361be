"""Handlers that prepare incoming events."""

__all__: list[str] = []
