"""The saga manager."""

__all__: list[str] = []
