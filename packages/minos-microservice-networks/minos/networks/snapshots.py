"""The background service that keeps snapshots in sync."""

__all__: list[str] = []
