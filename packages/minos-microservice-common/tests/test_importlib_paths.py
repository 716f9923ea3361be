"""Dotted-path loading and the errors that name the path and the cause."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from minos.common import (
    MinosConfig,
    MinosImportException,
    MinosSetup,
    classname,
    import_module,
)


def test_imports_a_class_a_module_and_an_attribute():
    assert import_module("minos.common.MinosConfig") is MinosConfig
    assert import_module("pathlib") is sys.modules["pathlib"]
    assert import_module("minos.common.MinosSetup.setup") is MinosSetup.setup
    assert import_module("os.path.join") is __import__("os").path.join


def test_classname_round_trips():
    assert classname(MinosConfig) == "minos.common.config.config.MinosConfig"
    assert import_module(classname(MinosConfig)) is MinosConfig
    assert classname(Path("x")) == f"{type(Path('x')).__module__}.PosixPath"


def test_missing_module():
    with pytest.raises(MinosImportException) as info:
        import_module("minos_absent_package.things.Thing")
    assert str(info.value) == (
        "cannot import 'minos_absent_package.things.Thing' "
        "(no module named 'minos_absent_package')"
    )


def test_missing_attribute():
    with pytest.raises(MinosImportException) as info:
        import_module("minos.common.Nope")
    assert str(info.value) == (
        "cannot import 'minos.common.Nope' ('minos.common' has no attribute 'Nope')"
    )


@pytest.mark.parametrize("path", ["", "a..b", "a.b/c", "1a.b", None])
def test_not_a_dotted_path(path):
    with pytest.raises(MinosImportException, match="not a dotted path"):
        import_module(path)


def test_module_failing_on_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "minos_raising_module.py").write_text("raise RuntimeError('no db')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MinosImportException) as info:
        import_module("minos_raising_module.Thing")
    message = str(info.value)
    assert message.startswith("cannot import 'minos_raising_module.Thing' (importing")
    assert "RuntimeError: no db" in message


def test_module_with_a_missing_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "minos_broken_dependency.py").write_text("import minos_absent_lib\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MinosImportException) as info:
        import_module("minos_broken_dependency.Thing")
    assert "No module named 'minos_absent_lib'" in str(info.value)
