"""Messages exchanged between microservices."""

__all__: list[str] = []
