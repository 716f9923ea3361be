"""CQRS exceptions."""

__all__: list[str] = []
