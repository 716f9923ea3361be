"""Saga executions."""

__all__: list[str] = []
