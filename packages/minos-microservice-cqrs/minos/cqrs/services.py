"""Command and query services."""

__all__: list[str] = []
