"""Stored saga data names functions and classes; it never runs anything else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from uuid import uuid4

import orjson
import pytest

from minos.common import MinosStorageLmdb
from minos.saga import (
    InMemorySagaBroker,
    MinosSagaCallbackException,
    MinosSagaContextException,
    MinosSagaDefinitionException,
    MinosSagaSerializationException,
    Saga,
    SagaContext,
    SagaExecution,
    SagaExecutionStorage,
)
from minos.saga.context.codec import decode_value


def reserve(context: SagaContext) -> str:
    return "reserve"


class Steps:
    @staticmethod
    def static_reserve(context: SagaContext) -> str:
        return "static"

    @classmethod
    def class_reserve(cls, context: SagaContext) -> str:
        return "class"


def lend() -> Saga:
    return Saga("TrustLend").step().invoke_participant("Reserve", reserve).commit()


async def stored_raw(saga: Saga | None = None) -> dict:
    execution = SagaExecution.from_definition(saga or lend(), SagaContext(book="B"))
    await execution.execute(broker=InMemorySagaBroker())
    return orjson.loads(orjson.dumps(execution.raw))


def test_an_enum_payload_naming_a_function_is_refused(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(MinosSagaSerializationException, match="not a subclass"):
        decode_value({"enum": ["os:system", f"touch {marker}"]})
    with pytest.raises(MinosSagaSerializationException, match="not a subclass"):
        decode_value({"enum": ["subprocess:getoutput", f"touch {marker}"]})
    assert not marker.exists()


def test_an_enum_payload_never_imports_an_unimported_standard_module():
    code = (
        "import sys\n"
        "from minos.saga.context.codec import decode_value\n"
        "try:\n"
        "    decode_value({'enum': ['antigravity:x', 1]})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
        "print('antigravity' in sys.modules)\n"
    )
    env = {**os.environ, "BROWSER": "true"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.stdout.split() == ["MinosSagaSerializationException", "False"]


@pytest.mark.parametrize(
    "callback",
    [
        "os:system",
        "builtins:eval",
        "builtins:exec",
        "subprocess:getoutput",
        "shutil:rmtree",
        "os.system",
        f"{__name__}:Steps",  # a class, not a function
        f"{__name__}:Steps.__init__",
        "minos.saga:Saga",
    ],
)
async def test_stored_callbacks_must_be_application_functions(callback):
    raw = await stored_raw()
    raw["definition"]["name"] = "Forged"  # not a registered definition
    raw["definition"]["steps"][0]["invoke_participant"]["callback"] = callback
    with pytest.raises(MinosSagaSerializationException, match="cannot be used"):
        SagaExecution.from_raw(raw)


async def test_a_registered_definition_is_used_without_importing_anything():
    saga = lend()
    raw = await stored_raw(saga)
    assert SagaExecution.from_raw(raw).definition is saga


async def test_static_and_class_methods_resolve_by_path():
    raw = await stored_raw()
    raw["definition"]["name"] = "Unregistered"
    operation = raw["definition"]["steps"][0]["invoke_participant"]
    operation["callback"] = f"{__name__}:Steps.static_reserve"
    assert SagaExecution.from_raw(raw).definition.steps[0]
    operation["callback"] = f"{__name__}:Steps.class_reserve"
    assert SagaExecution.from_raw(raw).definition.steps[0]


def test_standard_library_functions_cannot_be_callbacks():
    with pytest.raises(MinosSagaCallbackException, match="standard library"):
        Saga("S").step().invoke_participant("T", json.dumps)
    with pytest.raises(MinosSagaCallbackException, match="not a Python function"):
        Saga("S").step().invoke_participant("T", print)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda raw: raw.update(context=[1]), "must be a JSON object"),
        (lambda raw: raw.update(context={"x": {"bytes": "!!!"}}), "'context.x'"),
        (lambda raw: raw.update(context={"x": {"model": "%%%"}}), "'context.x'"),
        (lambda raw: raw.update(context={"x": {"enum": "nope"}}), "'context.x'"),
        (lambda raw: raw.update(steps={"a": 1}), "steps"),
        (lambda raw: raw.update(steps=[[]]), "malformed"),
        (lambda raw: raw.update(definition=[]), "JSON object"),
        (lambda raw: raw.update(reply_timeout="soon"), "positive"),
        (lambda raw: raw.update(reply_timeout=True), "positive"),
        (lambda raw: raw.update(created_at=5), "malformed"),
        (
            lambda raw: raw["definition"]["steps"][0]["invoke_participant"].update(
                parameters=[1]
            ),
            "JSON object",
        ),
        (lambda raw: raw["definition"]["steps"].__setitem__(0, 7), "malformed"),
    ],
)
async def test_bad_stored_data_is_a_clear_error(change, match):
    raw = await stored_raw()
    change(raw)
    with pytest.raises(MinosSagaSerializationException, match=match):
        SagaExecution.from_raw(raw)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(MinosSagaContextException, match="mapping"):
        SagaContext([1, 2])
    with pytest.raises(MinosSagaDefinitionException, match="mapping"):
        Saga("S").step().invoke_participant("T", reserve, [("a", 1)])


async def test_corrupt_rows_are_skipped_when_listing(tmp_path, caplog):
    raw = await stored_raw()
    async with SagaExecutionStorage(path=tmp_path / "s") as storage:
        await storage.storage.put(storage.table, str(uuid4()), b"{not json")
        broken = {**raw, "uuid": str(uuid4()), "context": [1]}
        await storage.storage.put(storage.table, broken["uuid"], orjson.dumps(broken))
        await storage.storage.put(storage.table, raw["uuid"], orjson.dumps(raw))
        found = [execution.uuid async for execution in storage.executions()]
    assert [str(uuid) for uuid in found] == [raw["uuid"]]
    assert caplog.text.count("skipped the unreadable saga execution") == 2


async def test_a_surrogate_key_is_a_storage_error(tmp_path):
    from minos.common import MinosStorageException

    async with MinosStorageLmdb(tmp_path / "k") as storage:
        with pytest.raises(MinosStorageException, match="not valid Unicode"):
            await storage.get("t", "\ud800")
