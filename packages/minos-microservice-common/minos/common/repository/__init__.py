"""The event store: every change of every aggregate, in order."""

from .abc import MinosRepository
from .database import DatabaseRepository, PostgreSqlRepository, SqliteRepository
from .entries import Action, RepositoryEntry
from .exceptions import (
    MinosRepositoryConflictException,
    MinosRepositoryException,
    MinosRepositoryNotProvidedException,
)
from .memory import InMemoryRepository

__all__ = [
    "Action",
    "DatabaseRepository",
    "InMemoryRepository",
    "MinosRepository",
    "MinosRepositoryConflictException",
    "MinosRepositoryException",
    "MinosRepositoryNotProvidedException",
    "PostgreSqlRepository",
    "RepositoryEntry",
    "SqliteRepository",
]
