"""Registration with a discovery service."""

__all__: list[str] = []
