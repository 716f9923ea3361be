"""Each kind of bad configuration is one MinosConfigException naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from minos.common import MinosConfig, MinosConfigException

SEED = Path(__file__).parent / "data" / "exam-config.yml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(MinosConfigException) as info:
        MinosConfig(path, with_environment=False)
    return str(info.value)


def seed_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SEED.read_text(encoding="utf-8")
    assert old in text
    return write(tmp_path, text.replace(old, new, 1))


def test_missing_file(tmp_path: Path):
    path = tmp_path / "nowhere" / "config.yml"
    message = load_error(path)
    assert message.startswith(f"{path}: cannot read the configuration file")
    assert "No such file" in message


def test_invalid_yaml(tmp_path: Path):
    path = write(tmp_path, "service:\n  name: exam\n rest: [\n")
    message = load_error(path)
    assert message.startswith(f"{path}: invalid YAML at line 3")


def test_top_level_is_not_a_mapping(tmp_path: Path):
    message = load_error(write(tmp_path, "- service\n- rest\n"))
    assert "config.yml: the top level must be a mapping" in message


def test_missing_service_section(tmp_path: Path):
    message = load_error(write(tmp_path, "rest:\n  host: 127.0.0.1\n  port: 1\n"))
    assert message.endswith("config.yml: service: required section is missing")


def test_missing_service_name(tmp_path: Path):
    path = seed_with(tmp_path, "  name: exam\n", "")
    assert load_error(path) == f"{path}: service.name: required string is missing"


def test_missing_rest_port(tmp_path: Path):
    path = seed_with(tmp_path, "  port: 8082\n", "")
    assert load_error(path) == f"{path}: rest.port: required integer is missing"


def test_wrong_integer(tmp_path: Path):
    path = seed_with(tmp_path, "    records: 1000", "    records: many")
    message = load_error(path)
    assert message == (
        f"{path}: broker.queue.records: expected an integer, got 'many' (str)"
    )


def test_wrong_section_type(tmp_path: Path):
    path = seed_with(tmp_path, "rest:\n  host: 0.0.0.0\n  port: 8082\n", "rest: 8082\n")
    assert load_error(path).startswith(f"{path}: rest: expected a mapping")


def test_boolean_for_a_string(tmp_path: Path):
    path = seed_with(
        tmp_path,
        "  password: min0s\n  host: localhost\n  port: 5432\nsnapshot",
        "  password: yes\n  host: localhost\n  port: 5432\nsnapshot",
    )
    message = load_error(path)
    assert message.startswith(f"{path}: repository.password: expected a string")
    assert "quote it" in message


def test_bad_dotted_path_syntax(tmp_path: Path):
    path = seed_with(
        tmp_path, "aggregate: src.aggregates.Exam", "aggregate: src/aggregates.py"
    )
    message = load_error(path)
    assert message.startswith(f"{path}: service.aggregate: expected a dotted path")


def test_bad_service_entry_names_its_index(tmp_path: Path):
    path = seed_with(tmp_path, "    - minos.networks.RestService", "    - 42")
    assert load_error(path).startswith(f"{path}: service.services[4]: expected")


def test_injections_must_be_a_mapping(tmp_path: Path):
    path = write(tmp_path, "service:\n  name: x\n  injections: [a.B]\n")
    assert load_error(path).startswith(
        f"{path}: service.injections: expected a mapping"
    )


def test_database_section_needs_a_database_or_a_path(tmp_path: Path):
    path = write(tmp_path, "service:\n  name: x\nsnapshot:\n  host: localhost\n")
    message = load_error(path)
    assert message.startswith(f"{path}: snapshot: needs either 'database'")


def test_unimportable_dotted_path_is_reported_on_import(tmp_path: Path):
    path = seed_with(
        tmp_path,
        "repository: minos.common.PostgreSqlRepository",
        "repository: minos.common.Nope",
    )
    config = MinosConfig(path, with_environment=False)
    with pytest.raises(MinosConfigException) as info:
        config.import_object("service.injections.repository")
    assert str(info.value) == (
        f"{path}: service.injections.repository: cannot import 'minos.common.Nope' "
        "('minos.common' has no attribute 'Nope')"
    )


def test_unimportable_module_is_reported_on_import(tmp_path: Path):
    path = seed_with(
        tmp_path, "src.aggregates.Exam", "minos_absent_package.aggregates.Exam"
    )
    config = MinosConfig(path, with_environment=False)
    with pytest.raises(MinosConfigException) as info:
        config.import_object("service.aggregate")
    message = str(info.value)
    assert message.startswith(f"{path}: service.aggregate: cannot import")
    assert "no module named 'minos_absent_package'" in message
