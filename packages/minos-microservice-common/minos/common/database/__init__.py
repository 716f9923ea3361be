"""Database access: PostgreSQL and SQLite behind one async interface."""

__all__: list[str] = []
