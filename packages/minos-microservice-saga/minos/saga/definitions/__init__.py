"""Saga definitions."""

__all__: list[str] = []
