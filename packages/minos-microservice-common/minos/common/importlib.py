"""Loading objects from dotted paths."""

__all__: list[str] = []
