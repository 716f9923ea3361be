"""Typed models and their serialization."""

__all__: list[str] = []
