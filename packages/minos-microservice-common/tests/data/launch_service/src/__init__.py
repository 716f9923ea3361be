"""Services and injections of the journal microservice used by launcher tests."""

from .components import Journal
from .services import FailingService, FirstService, SecondService

__all__ = ["FailingService", "FirstService", "Journal", "SecondService"]
