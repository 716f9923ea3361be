"""The enroute routing decorators."""

__all__: list[str] = []
