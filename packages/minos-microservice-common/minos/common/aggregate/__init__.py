"""Event-sourced aggregates and their diffs."""

__all__: list[str] = []
