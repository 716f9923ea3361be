"""User code asking for injections, as a class attribute and a function default."""

from __future__ import annotations

from dependency_injector.wiring import Provide, inject

from .components import QueryRepository


class ReadSide:
    """Receives the repository as a class attribute."""

    repository: QueryRepository = Provide["query_repository"]

    def current(self) -> QueryRepository:
        return self.repository


@inject
async def fetch_repository(
    repository: QueryRepository = Provide["query_repository"],
) -> QueryRepository:
    return repository
