"""The REST interface."""

__all__: list[str] = []
