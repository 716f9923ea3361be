"""The container: Provide["name"] as class attribute and @inject default, lifecycle."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from dependency_injector.wiring import Provide

from minos.common import (
    DependencyInjector,
    InjectionException,
    MinosConfig,
    MinosConfigException,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(DATA))
    return importlib.import_module("wiring_app")


@pytest.fixture(autouse=True)
def no_current_config():
    previous = MinosConfig.set_current(None)
    yield
    MinosConfig.set_current(previous)


def make_config(**injections: str) -> MinosConfig:
    return MinosConfig(
        {"service": {"name": "exam", "injections": injections}},
        with_environment=False,
    )


async def test_class_attribute_and_function_default_receive_the_instance(app):
    helpers = importlib.import_module("wiring_app.helpers")
    config = make_config(query_repository="wiring_app.components.QueryRepository")
    injector = DependencyInjector(config)

    await injector.wire(modules=[app])
    try:
        repository = injector.get("query_repository")
        assert isinstance(repository, app.QueryRepository)
        assert repository.name == "exam"
        assert repository.events == ["setup"]
        assert app.ReadSide.repository is repository
        assert app.ReadSide().current() is repository
        assert await app.fetch_repository() is repository
        assert helpers.configured_name() == "exam"
        assert injector.get("config") is config
        assert MinosConfig.current() is config
    finally:
        await injector.unwire()

    assert repository.events == ["setup", "destroy"]
    assert isinstance(app.ReadSide.repository, Provide)
    with pytest.raises(MinosConfigException):
        MinosConfig.current()


async def test_modules_given_by_name_and_explicit_injections(app):
    instance = app.QueryRepository(name="given")
    injector = DependencyInjector(make_config(), {"query_repository": instance})
    await injector.wire(modules=["wiring_app"])
    try:
        assert app.ReadSide.repository is instance
        assert instance.already_setup
    finally:
        await injector.unwire()
    assert instance.already_destroyed


async def test_rewiring_builds_fresh_instances(app):
    injector = DependencyInjector(
        make_config(query_repository="wiring_app.QueryRepository")
    )
    await injector.wire(modules=[app])
    first = injector.get("query_repository")
    await injector.unwire()
    await injector.wire(modules=[app])
    try:
        assert injector.get("query_repository") is not first
        assert app.ReadSide.repository is injector.get("query_repository")
    finally:
        await injector.unwire()


async def test_failing_setup_names_the_injection_and_undoes_the_others(app):
    config = make_config(
        query_repository="wiring_app.QueryRepository",
        database="wiring_app.BrokenComponent",
    )
    injector = DependencyInjector(config)
    repository = injector.get("query_repository")

    with pytest.raises(InjectionException) as info:
        await injector.wire(modules=[app])
    assert str(info.value) == (
        "injection 'database' (wiring_app.components.BrokenComponent) failed to set "
        "up: ConnectionRefusedError: nothing listens on 127.0.0.1:9"
    )
    assert repository.events == ["setup", "destroy"]
    assert isinstance(app.ReadSide.repository, Provide)
    with pytest.raises(MinosConfigException):
        MinosConfig.current()


async def test_failing_construction_names_the_injection(app):
    injector = DependencyInjector(make_config(reader="wiring_app.UnbuildableComponent"))
    with pytest.raises(InjectionException) as info:
        await injector.wire(modules=[app])
    message = str(info.value)
    assert message.startswith(
        "injection 'reader' (wiring_app.components.UnbuildableComponent) cannot be "
        "built: <mapping>: repository: section is missing"
    )


def test_unimportable_injection_names_file_and_key(tmp_path: Path):
    path = tmp_path / "config.yml"
    path.write_text(
        "service:\n  name: exam\n  injections:\n    repository: minos.common.Nope\n"
    )
    with pytest.raises(MinosConfigException) as info:
        DependencyInjector(MinosConfig(path, with_environment=False))
    assert str(info.value) == (
        f"{path}: service.injections.repository: cannot import 'minos.common.Nope' "
        "('minos.common' has no attribute 'Nope')"
    )


def test_config_is_a_reserved_name(app):
    with pytest.raises(InjectionException, match="'config' is reserved"):
        DependencyInjector(make_config(), {"config": object()})


def test_unknown_name(app):
    injector = DependencyInjector(make_config(), {"query_repository": object()})
    with pytest.raises(InjectionException, match="no injection named 'nope'"):
        injector.get("nope")


async def test_unimportable_module_to_wire(app):
    injector = DependencyInjector(make_config())
    with pytest.raises(InjectionException, match="cannot wire: cannot import"):
        await injector.wire(modules=["minos_absent_package"])
    with pytest.raises(MinosConfigException):
        MinosConfig.current()
