"""The LMDB key-value storage: round trips, tables, iteration, persistence."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from minos.common import MinosStorage, MinosStorageException, MinosStorageLmdb


@pytest.fixture
async def storage(tmp_path):
    async with MinosStorageLmdb(tmp_path / "store.lmdb") as storage:
        yield storage


async def test_is_a_minos_storage(storage):
    assert isinstance(storage, MinosStorage)


async def test_put_get_delete(storage):
    await storage.put("things", "a", b"first")
    assert await storage.get("things", "a") == b"first"

    await storage.put("things", "a", b"second")
    assert await storage.get("things", "a") == b"second"

    assert await storage.delete("things", "a") is True
    assert await storage.get("things", "a") is None
    assert await storage.delete("things", "a") is False


async def test_missing_key_and_table(storage):
    assert await storage.get("never-written", "x") is None
    assert await storage.get("things", "unknown") is None


async def test_tables_are_independent(storage):
    await storage.put("left", "k", b"L")
    await storage.put("right", "k", b"R")
    assert await storage.get("left", "k") == b"L"
    assert await storage.get("right", "k") == b"R"
    await storage.delete("left", "k")
    assert await storage.get("right", "k") == b"R"


async def test_items_in_key_order_across_batches(storage):
    keys = [f"key-{i:04d}" for i in range(600)]
    for key in reversed(keys):
        await storage.put("many", key, key.encode())
    await storage.put("other", "zzz", b"elsewhere")

    rows = [row async for row in storage.items("many")]

    assert [key for key, _ in rows] == keys
    assert all(value == key.encode() for key, value in rows)
    assert [row async for row in storage.items("empty")] == []


async def test_values_survive_reopening(tmp_path):
    path = tmp_path / "durable.lmdb"
    async with MinosStorageLmdb(path) as first:
        await first.put("executions", "one", b"\x00\x01payload")
        await first.put("executions", "two", b"gone")
        await first.delete("executions", "two")

    async with MinosStorageLmdb(path) as reopened:
        assert await reopened.get("executions", "one") == b"\x00\x01payload"
        assert await reopened.get("executions", "two") is None
        assert [key async for key, _ in reopened.items("executions")] == ["one"]


async def test_instances_on_one_directory_share_it(tmp_path):
    path = tmp_path / "shared.lmdb"
    first = MinosStorageLmdb(path)
    second = MinosStorageLmdb(str(path))
    await first.setup()
    await second.setup()

    await first.put("t", "k", b"v")
    assert await second.get("t", "k") == b"v"

    await first.destroy()
    await second.put("t", "k2", b"still open")
    assert await second.get("t", "k2") == b"still open"
    await second.destroy()


async def test_operations_set_up_on_first_use(tmp_path):
    storage = MinosStorageLmdb(tmp_path / "lazy.lmdb")
    await storage.put("t", "k", b"v")
    assert storage.already_setup
    assert await storage.get("t", "k") == b"v"
    await storage.destroy()


async def test_full_map_grows(tmp_path):
    async with MinosStorageLmdb(tmp_path / "small.lmdb", map_size=1 << 16) as storage:
        big = b"x" * 20_000
        for i in range(40):
            await storage.put("blobs", f"b{i}", big)
        assert await storage.get("blobs", "b39") == big
        assert len([key async for key, _ in storage.items("blobs")]) == 40


async def test_concurrent_writers(storage):
    await asyncio.gather(
        *(storage.put("c", f"k{i:03d}", str(i).encode()) for i in range(100))
    )
    values = [value async for _, value in storage.items("c")]
    assert values == [str(i).encode() for i in range(100)]


@pytest.mark.parametrize("key", ["", None, 12, "k" * 600])
async def test_invalid_keys_are_rejected(storage, key):
    with pytest.raises(MinosStorageException, match="key"):
        await storage.put("t", key, b"v")


@pytest.mark.parametrize("table", ["", None])
async def test_invalid_tables_are_rejected(storage, table):
    with pytest.raises(MinosStorageException, match="table"):
        await storage.get(table, "k")


async def test_values_must_be_bytes(storage):
    with pytest.raises(MinosStorageException, match="must be bytes"):
        await storage.put("t", "k", "text")


async def test_unusable_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    storage = MinosStorageLmdb(blocker / "store.lmdb")
    with pytest.raises(MinosStorageException, match="a-file"):
        await storage.setup()


def test_empty_path_is_rejected():
    with pytest.raises(MinosStorageException, match="saga.storage.path"):
        MinosStorageLmdb("")


async def test_from_config_reads_the_saga_storage_path(tmp_path):
    config = SimpleNamespace(
        service=SimpleNamespace(name="test"),
        saga=SimpleNamespace(storage=SimpleNamespace(path=str(tmp_path / "s.lmdb"))),
    )
    async with MinosStorageLmdb.from_config(config) as storage:
        await storage.put("t", "k", b"v")
    assert storage.path == tmp_path / "s.lmdb"
    assert (tmp_path / "s.lmdb" / "data.mdb").exists()


async def test_one_directory_opened_with_other_options_is_refused(tmp_path):
    path = tmp_path / "shared.lmdb"
    async with MinosStorageLmdb(path, sync=True):
        for options in ({"sync": False}, {"max_tables": 8}, {"map_size": 1 << 20}):
            other = MinosStorageLmdb(path, **options)
            with pytest.raises(MinosStorageException, match="other options"):
                await other.setup()
        async with MinosStorageLmdb(path) as same:  # equal options share it
            await same.put("t", "k", b"v")


@pytest.mark.parametrize(
    "options", [{"map_size": 0}, {"max_tables": "8"}, {"sync": "yes"}]
)
def test_bad_options_are_refused(tmp_path, options):
    with pytest.raises(MinosStorageException, match="option"):
        MinosStorageLmdb(tmp_path / "x", **options)


async def test_keys_that_are_not_unicode_text_are_refused(tmp_path):
    async with MinosStorageLmdb(tmp_path / "k.lmdb") as storage:
        for call in (storage.get, storage.delete):
            with pytest.raises(MinosStorageException, match="not valid Unicode"):
                await call("t", "\udc80")
        with pytest.raises(MinosStorageException, match="not valid Unicode"):
            await storage.put("t", "a\ud800", b"v")
