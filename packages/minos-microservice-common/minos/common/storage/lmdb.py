"""``MinosStorage`` on LMDB: one memory-mapped environment per directory.

LMDB forbids opening one environment twice in a process, so every
``MinosStorageLmdb`` on the same directory shares one environment and one
worker thread; they must agree on its options (``map_size``, ``max_tables``,
``sync``). All LMDB calls run on that thread: the event loop never
blocks on disk, and LMDB's one-transaction-per-thread rule holds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

import lmdb

from .abc import MinosStorage
from .exceptions import MinosStorageException

if TYPE_CHECKING:
    from ..config import MinosConfig

logger = logging.getLogger(__name__)

__all__ = ["MinosStorageLmdb"]

T = TypeVar("T")

DEFAULT_MAP_SIZE = 1 << 30  # 1 GiB of address space; the file grows as needed.
_MAX_GROWTHS = 8  # how many times a full map is doubled before giving up
_BATCH = 256  # rows read per hop to the worker thread when iterating


class _Environment:
    """One open LMDB environment, its tables and the thread that uses them."""

    def __init__(self, path: str, map_size: int, max_tables: int, sync: bool):
        os.makedirs(path, exist_ok=True)
        self.path = path
        self.options = {"map_size": map_size, "max_tables": max_tables, "sync": sync}
        self.env = lmdb.open(
            path, map_size=map_size, max_dbs=max_tables, sync=sync, subdir=True
        )
        self.tables: dict[str, Any] = {}
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="minos-lmdb")
        self.users = 0

    def table(self, name: str) -> Any:
        """Return the handle of table ``name``, creating it on first use."""
        handle = self.tables.get(name)
        if handle is None:
            handle = self._grow_on_full(
                lambda: self.env.open_db(name.encode(), create=True)
            )
            self.tables[name] = handle
        return handle

    def write(self, operation: Callable[[Any], T]) -> T:
        """Run ``operation(txn)`` in a write transaction, growing a full map."""

        def attempt() -> T:
            with self.env.begin(write=True) as txn:
                return operation(txn)

        return self._grow_on_full(attempt)

    def _grow_on_full(self, attempt: Callable[[], T]) -> T:
        for _ in range(_MAX_GROWTHS):
            try:
                return attempt()
            except lmdb.MapFullError:
                size = self.env.info()["map_size"] * 2
                logger.info("LMDB map at %s is full; growing it to %d", self.path, size)
                self.env.set_mapsize(size)
        return attempt()

    def close(self) -> None:
        self.env.close()


_environments: dict[str, _Environment] = {}
_environments_lock = threading.Lock()


def _acquire(path: Path, map_size: int, max_tables: int, sync: bool) -> _Environment:
    real = os.path.realpath(path)
    with _environments_lock:
        environment = _environments.get(real)
        if environment is None:
            environment = _Environment(real, map_size, max_tables, sync)
            _environments[real] = environment
        else:
            options = {"map_size": map_size, "max_tables": max_tables, "sync": sync}
            if options != environment.options:
                different = ", ".join(
                    f"{name}={value!r} (open with {environment.options[name]!r})"
                    for name, value in options.items()
                    if environment.options[name] != value
                )
                raise MinosStorageException(
                    f"the LMDB storage at {real!r} is already open in this process "
                    f"with other options: {different}; open every storage on one "
                    "directory with the same options"
                )
        environment.users += 1
        return environment


def _release(environment: _Environment) -> None:
    with _environments_lock:
        environment.users -= 1
        if environment.users > 0:
            return
        del _environments[environment.path]
    environment.executor.submit(environment.close).result()
    environment.executor.shutdown(wait=True)


class MinosStorageLmdb(MinosStorage):
    """Tables of bytes in an LMDB directory (``saga.storage.path`` for sagas).

    Keys are UTF-8 strings of at most 511 bytes. Writes are durable when they
    return unless ``sync=False``, which trades the last writes before a crash
    for speed. The map starts at ``map_size`` bytes and doubles when full.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *args: Any,
        map_size: int = DEFAULT_MAP_SIZE,
        max_tables: int = 32,
        sync: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(path, str | os.PathLike) or not str(path):
            raise MinosStorageException(
                f"the LMDB storage path {path!r} is not a directory path; set "
                "'saga.storage.path' to a directory"
            )
        for name, value, low in (
            ("map_size", map_size, 1 << 12),
            ("max_tables", max_tables, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MinosStorageException(
                    f"the LMDB storage option {name} must be an integer of at "
                    f"least {low}, not {value!r}"
                )
        if not isinstance(sync, bool):
            raise MinosStorageException(
                f"the LMDB storage option sync must be True or False, not {sync!r}"
            )
        self.path = Path(path)
        self.map_size = map_size
        self.max_tables = max_tables
        self.sync = sync
        self._environment: _Environment | None = None

    @classmethod
    def _from_config(cls, *args: Any, config: MinosConfig, **kwargs: Any) -> Self:
        kwargs.setdefault("path", config.saga.storage.path)
        return cls(*args, **kwargs)

    async def _setup(self) -> None:
        try:
            self._environment = await asyncio.to_thread(
                _acquire, self.path, self.map_size, self.max_tables, self.sync
            )
        except MinosStorageException:
            raise
        except (lmdb.Error, OSError) as exc:
            raise MinosStorageException(
                f"cannot open the LMDB storage at {str(self.path)!r} ({exc}); "
                "check that the directory is writable"
            ) from exc
        logger.debug("LMDB storage open at %s", self._environment.path)

    async def _destroy(self) -> None:
        environment, self._environment = self._environment, None
        if environment is not None:
            await asyncio.to_thread(_release, environment)

    async def put(self, table: str, key: str, value: bytes) -> None:
        raw_key = self._key(key)
        if not isinstance(value, bytes | bytearray | memoryview):
            raise MinosStorageException(
                f"the value for key {key!r} of table {table!r} must be bytes, "
                f"not {type(value).__name__}; serialize it first"
            )

        def operation(environment: _Environment) -> None:
            handle = environment.table(table)
            environment.write(lambda txn: txn.put(raw_key, bytes(value), db=handle))

        await self._run(table, operation)

    async def get(self, table: str, key: str) -> bytes | None:
        raw_key = self._key(key)

        def operation(environment: _Environment) -> bytes | None:
            handle = environment.table(table)
            with environment.env.begin(db=handle) as txn:
                value: bytes | None = txn.get(raw_key)
                return value

        return await self._run(table, operation)

    async def delete(self, table: str, key: str) -> bool:
        raw_key = self._key(key)

        def operation(environment: _Environment) -> bool:
            handle = environment.table(table)
            return bool(environment.write(lambda txn: txn.delete(raw_key, db=handle)))

        return await self._run(table, operation)

    async def items(self, table: str) -> AsyncIterator[tuple[str, bytes]]:
        after: bytes | None = None
        while True:
            batch = await self._run(
                table, partial(_read_batch, table=table, after=after)
            )
            for raw_key, value in batch:
                # Keys written by ``put`` are UTF-8; others are shown escaped.
                yield raw_key.decode(errors="backslashreplace"), value
            if len(batch) < _BATCH:
                return
            after = batch[-1][0]

    async def _run(self, table: str, operation: Callable[[_Environment], T]) -> T:
        if not isinstance(table, str) or not table:
            raise MinosStorageException(
                f"the table name {table!r} is invalid; use a non-empty string"
            )
        await self.setup()
        environment = self._environment
        assert environment is not None
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                environment.executor, operation, environment
            )
        except lmdb.Error as exc:
            raise MinosStorageException(
                f"LMDB storage at {str(self.path)!r}, table {table!r}: {exc}"
            ) from exc

    @staticmethod
    def _key(key: str) -> bytes:
        if not isinstance(key, str) or not key:
            raise MinosStorageException(
                f"the storage key {key!r} is invalid; use a non-empty string"
            )
        try:
            raw = key.encode()
        except UnicodeEncodeError as exc:
            raise MinosStorageException(
                f"the storage key {key[:40]!r} is not valid Unicode text ({exc}); "
                "use keys without lone surrogates"
            ) from None
        if len(raw) > 511:
            raise MinosStorageException(
                f"the storage key {key[:40]!r}... is {len(raw)} bytes long; "
                "LMDB keys are at most 511 bytes"
            )
        return raw

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r})"


def _read_batch(
    environment: _Environment, table: str, after: bytes | None
) -> list[tuple[bytes, bytes]]:
    """Read up to ``_BATCH`` rows of ``table`` whose key follows ``after``."""
    handle = environment.table(table)
    rows: list[tuple[bytes, bytes]] = []
    with environment.env.begin(db=handle) as txn:
        cursor = txn.cursor()
        found = cursor.set_range(after) if after is not None else cursor.first()
        while found and len(rows) < _BATCH:
            key, value = cursor.item()
            if key != after:
                rows.append((bytes(key), bytes(value)))
            found = cursor.next()
    return rows
