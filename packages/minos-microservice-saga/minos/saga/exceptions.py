"""Saga exceptions."""

__all__: list[str] = []
