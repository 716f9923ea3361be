"""The context carried between saga steps."""

__all__: list[str] = []
