"""The consumer and the handlers that dispatch incoming messages."""

__all__: list[str] = []
