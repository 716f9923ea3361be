"""The event store."""

__all__: list[str] = []
