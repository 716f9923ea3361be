"""An injection that appends lifecycle lines to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minos.common import MinosConfig, MinosSetup


class Journal(MinosSetup):
    """Appends one line per lifecycle event to the file named in the config."""

    def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = Path(path)

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Journal:
        return cls(config.journal.file, *args, **kwargs)

    def write(self, line: str) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")

    async def _setup(self) -> None:
        self.write("journal setup")

    async def _destroy(self) -> None:
        self.write("journal destroy")
