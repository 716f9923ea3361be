"""The exam microservice: the example from the minos setup guide."""

from .aggregates import Exam, ExamStatus, Question
from .commands import ExamCommandService
from .queries import ExamQueryRepository, ExamQueryService

__all__ = [
    "Exam",
    "ExamCommandService",
    "ExamQueryRepository",
    "ExamQueryService",
    "ExamStatus",
    "Question",
]
