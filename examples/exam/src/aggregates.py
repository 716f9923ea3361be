"""The exam aggregate: what the command side stores as events."""

from __future__ import annotations

from enum import StrEnum

from minos.common import Aggregate, ValueObject


class ExamStatus(StrEnum):
    """Where an exam is in its life."""

    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Question(ValueObject):
    """One multiple-choice question: its text, its choices and the right one."""

    text: str
    choices: list[str]
    answer: int


class Exam(Aggregate):
    """An exam students can sit: a title, a subject, a time limit and questions."""

    title: str
    subject: str
    duration: int
    questions: list[Question]
    status: ExamStatus

    def __init__(
        self,
        *args,
        questions: list[Question] | None = None,
        status: ExamStatus = ExamStatus.DRAFT,
        **kwargs,
    ):
        super().__init__(*args, questions=questions or [], status=status, **kwargs)

    @staticmethod
    def validate_duration(value: int) -> bool:
        """A duration is in minutes, at least one and at most a day."""
        return isinstance(value, int) and 0 < value <= 24 * 60

    @staticmethod
    def validate_title(value: str) -> bool:
        return isinstance(value, str) and bool(value.strip())
