"""The command side of the exam service: every change goes through here."""

from __future__ import annotations

from typing import Any

from minos.common import (
    UUID_REGEX,
    MinosException,
    MinosSnapshotAggregateNotFoundException,
    MinosSnapshotDeletedAggregateException,
)
from minos.cqrs import CommandService
from minos.networks import Request, Response, ResponseException, enroute

from .aggregates import Exam, ExamStatus, Question

EXAM_PATH = f"/exams/{{uuid:{UUID_REGEX.pattern}}}"
_EDITABLE = ("title", "subject", "duration", "questions", "status")


def _questions(raw: Any) -> list[Question]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ResponseException("'questions' must be a list of questions.")
    return [q if isinstance(q, Question) else Question(**q) for q in raw]


def _status(raw: Any) -> ExamStatus:
    try:
        return raw if isinstance(raw, ExamStatus) else ExamStatus(raw)
    except ValueError:
        options = ", ".join(s.value for s in ExamStatus)
        raise ResponseException(f"'status' must be one of: {options}.") from None


async def _get_exam(uuid: Any) -> Exam:
    try:
        return await Exam.get(uuid)
    except (
        MinosSnapshotAggregateNotFoundException,
        MinosSnapshotDeletedAggregateException,
    ):
        message = f"The exam {uuid} does not exist."
        raise ResponseException(message, status=404) from None


class ExamCommandService(CommandService):
    """Creates, edits and deletes exams."""

    @enroute.rest.command("/exams", "POST")
    @enroute.broker.command("CreateExam")
    async def create_exam(self, request: Request) -> Response:
        content = await request.content()
        try:
            exam = await Exam.create(
                content["title"],
                content["subject"],
                content["duration"],
                questions=_questions(content.get("questions")),
                status=_status(content.get("status", ExamStatus.DRAFT)),
            )
        except KeyError as exc:
            raise ResponseException(f"Missing field {exc.args[0]!r}.") from None
        except (MinosException, TypeError) as exc:
            raise ResponseException(str(exc)) from None
        return Response(exam)

    @enroute.rest.command(EXAM_PATH, "PUT")
    @enroute.broker.command("UpdateExam")
    async def update_exam(self, request: Request) -> Response:
        content = await request.content()
        exam = await _get_exam(content["uuid"])
        changes = {key: content[key] for key in _EDITABLE if key in content}
        if "questions" in changes:
            changes["questions"] = _questions(changes["questions"])
        if "status" in changes:
            changes["status"] = _status(changes["status"])
        try:
            await exam.update(**changes)
        except (MinosException, TypeError) as exc:
            raise ResponseException(str(exc)) from None
        return Response(exam)

    @enroute.rest.command(EXAM_PATH, "DELETE")
    @enroute.broker.command("DeleteExam")
    async def delete_exam(self, request: Request) -> None:
        content = await request.content()
        exam = await _get_exam(content["uuid"])
        await exam.delete()
