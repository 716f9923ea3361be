"""The query side of the exam service: a read model kept current from events."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from dependency_injector.wiring import Provide

from minos.common import (
    UUID_REGEX,
    AggregateDiff,
    MinosConfig,
    MinosDatabase,
    database_pool,
)
from minos.cqrs import QueryService
from minos.networks import Request, Response, ResponseException, enroute

from .aggregates import Exam

_COLUMNS = ("uuid", "version", "title", "subject", "duration", "questions", "status")


class ExamQueryRepository(MinosDatabase):
    """The ``exam_read`` table: one row per live exam, newest version wins.

    It lives in the ``repository`` database of the config, so it runs on
    PostgreSQL or, with a ``path`` there, on the embedded SQLite file.
    """

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any):
        pool = database_pool(config.repository._asdict())
        return cls(*args, pool=pool, **kwargs)

    async def _setup(self) -> None:
        await self.submit_query(
            "CREATE TABLE IF NOT EXISTS exam_read ("
            "uuid UUID PRIMARY KEY, version INT NOT NULL, title TEXT NOT NULL, "
            "subject TEXT NOT NULL, duration INT NOT NULL, questions INT NOT NULL, "
            "status TEXT NOT NULL)"
        )

    async def store(self, exam: Exam) -> None:
        """Insert or update the row of ``exam`` unless a newer version is there."""
        await self.submit_query(
            "INSERT INTO exam_read (uuid, version, title, subject, duration, "
            "questions, status) VALUES (%(uuid)s, %(version)s, %(title)s, "
            "%(subject)s, %(duration)s, %(questions)s, %(status)s) "
            "ON CONFLICT (uuid) DO UPDATE SET version = excluded.version, "
            "title = excluded.title, subject = excluded.subject, "
            "duration = excluded.duration, questions = excluded.questions, "
            "status = excluded.status WHERE exam_read.version < excluded.version",
            {
                "uuid": exam.uuid,
                "version": exam.version,
                "title": exam.title,
                "subject": exam.subject,
                "duration": exam.duration,
                "questions": len(exam.questions),
                "status": exam.status.value,
            },
        )

    async def delete(self, uuid: UUID) -> None:
        await self.submit_query("DELETE FROM exam_read WHERE uuid = %s", (uuid,))

    async def get(self, uuid: UUID) -> dict[str, Any] | None:
        row = await self.submit_query_and_fetchone(
            f"SELECT {', '.join(_COLUMNS)} FROM exam_read WHERE uuid = %s", (uuid,)
        )
        return dict(zip(_COLUMNS, row, strict=True)) if row else None

    async def all(self, subject: str | None = None) -> list[dict[str, Any]]:
        query = f"SELECT {', '.join(_COLUMNS)} FROM exam_read"
        params: tuple[Any, ...] = ()
        if subject is not None:
            query += " WHERE subject = %s"
            params = (subject,)
        query += " ORDER BY title, uuid"
        return [
            dict(zip(_COLUMNS, row, strict=True))
            async for row in self.submit_query_and_iter(query, params)
        ]


class ExamQueryService(QueryService):
    """Keeps ``exam_read`` current and answers questions about exams."""

    repository: ExamQueryRepository = Provide["query_repository"]

    @enroute.broker.event("ExamCreated")
    @enroute.broker.event("ExamUpdated")
    async def exam_changed(self, request: Request) -> None:
        diff: AggregateDiff = await request.content()
        exam = await Exam.get(diff.uuid)
        await self.repository.store(exam)

    @enroute.broker.event("ExamDeleted")
    async def exam_deleted(self, request: Request) -> None:
        diff: AggregateDiff = await request.content()
        await self.repository.delete(diff.uuid)

    @enroute.rest.query("/exams", "GET")
    @enroute.broker.query("GetExams")
    async def get_exams(self, request: Request) -> Response:
        content = await request.content() or {}
        return Response(await self.repository.all(content.get("subject")))

    @enroute.rest.query(f"/exams/{{uuid:{UUID_REGEX.pattern}}}", "GET")
    @enroute.broker.query("GetExam")
    async def get_exam(self, request: Request) -> Response:
        content = await request.content()
        try:
            uuid = UUID(str(content["uuid"]))
        except (KeyError, ValueError):
            raise ResponseException("A valid exam 'uuid' is required.") from None
        found = await self.repository.get(uuid)
        if found is None:
            raise ResponseException(f"The exam {uuid} does not exist.", status=404)
        return Response(found)
