"""Snapshots: the latest state of every aggregate."""

__all__: list[str] = []
