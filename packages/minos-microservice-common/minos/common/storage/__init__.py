"""Key-value storage on LMDB."""

__all__: list[str] = []
