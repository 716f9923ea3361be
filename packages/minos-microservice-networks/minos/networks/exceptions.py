"""Networking errors."""

__all__: list[str] = []
