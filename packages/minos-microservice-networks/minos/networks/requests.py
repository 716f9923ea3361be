"""Requests and responses shared by REST and broker handlers."""

__all__: list[str] = []
