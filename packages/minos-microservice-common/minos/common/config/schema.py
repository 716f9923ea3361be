"""The sections and keys of config.yml, their types, defaults and overrides.

Required keys, chosen so the seed's file loads verbatim and a minimal file stays
short:

- ``service.name`` is the only key every file needs. ``service.aggregate`` is
  optional, ``service.injections`` defaults to ``{}``, ``service.services`` to
  ``[]``.
- ``rest``, ``broker``, ``repository``, ``snapshot``, ``saga`` are optional
  sections: the component that reads one fails with a clear error if it is
  missing. Once present, ``rest`` needs ``host`` and ``port`` and ``saga``
  needs ``storage.path``; ``broker.host``/``broker.port`` are optional (no host
  means the in-process broker).
- A database section (``repository``, ``snapshot``, ``broker.queue``) holds
  either ``path`` (an SQLite file, the embedded default) or a PostgreSQL
  connection: ``database`` is required, ``host`` defaults to ``localhost``,
  ``port`` to ``5432``, ``user`` and ``password`` to ``None``. ``broker.queue``
  adds ``records`` (default ``1000``) and ``retry`` (default ``2``).
- ``events``, ``queries``, ``commands`` and ``discovery`` are optional and read
  as sections whose keys are all ``None`` when absent.

Every key above can be set by an environment variable named after its path
(``MINOS_BROKER_QUEUE_PORT``), converted to the key's type; an injection by
``MINOS_SERVICE_INJECTIONS_<NAME>``, the service list by a comma-separated
``MINOS_SERVICE_SERVICES``. Setting ``MINOS_<SECTION>_PATH`` switches a database
section to SQLite, setting ``MINOS_<SECTION>_DATABASE`` switches it to
PostgreSQL. Sections and keys the schema does not know are kept as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import MinosConfigException
from .sections import ConfigSection, MissingConfigSection

__all__: list[str] = []

STR = "string"
INT = "integer"
DOTTED = "dotted path"
DOTTED_MAP = "mapping of names to dotted paths"
DOTTED_LIST = "list of dotted paths"

_DOTTED_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_INTEGER = re.compile(r"^[+-]?\d+$")

_UNSET = object()


@dataclass(frozen=True)
class Key:
    """One typed key of a section."""

    kind: str
    required: bool = False
    default: Any = _UNSET
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Section:
    """A section: its keys, and what an absent section reads as."""

    keys: Mapping[str, Key | Section]
    required: bool = False
    empty_when_absent: bool = False
    database: bool = False
    extra_defaults: Mapping[str, Any] = field(default_factory=dict)


_POSTGRESQL_KEYS = ("database", "user", "password", "host", "port")
_POSTGRESQL_DEFAULTS = {
    "user": None,
    "password": None,
    "host": "localhost",
    "port": 5432,
}

_DATABASE = {
    "path": Key(STR),
    "database": Key(STR),
    "user": Key(STR),
    "password": Key(STR),
    "host": Key(STR),
    "port": Key(INT, minimum=1, maximum=65535),
}

SCHEMA = Section(
    {
        "service": Section(
            {
                "name": Key(STR, required=True),
                "aggregate": Key(DOTTED),
                "injections": Key(DOTTED_MAP, default={}),
                "services": Key(DOTTED_LIST, default=[]),
            },
            required=True,
        ),
        "rest": Section(
            {
                "host": Key(STR, required=True),
                "port": Key(INT, required=True, minimum=0, maximum=65535),
                "max_body_size": Key(INT, minimum=1),
                "body_timeout": Key(INT, minimum=1),
            }
        ),
        "broker": Section(
            {
                "host": Key(STR),
                "port": Key(INT, minimum=1, maximum=65535),
                "queue": Section(
                    {
                        **_DATABASE,
                        "records": Key(INT, default=1000, minimum=1),
                        "retry": Key(INT, default=2, minimum=0),
                    },
                    database=True,
                ),
            }
        ),
        "repository": Section(_DATABASE, database=True),
        "snapshot": Section(_DATABASE, database=True),
        "events": Section({"service": Key(DOTTED)}, empty_when_absent=True),
        "queries": Section({"service": Key(DOTTED)}, empty_when_absent=True),
        "commands": Section({"service": Key(DOTTED)}, empty_when_absent=True),
        "saga": Section(
            {
                "storage": Section({"path": Key(STR, required=True)}, required=True),
                "timeout": Key(INT, minimum=1),
            }
        ),
        "discovery": Section(
            {
                "client": Key(DOTTED),
                "host": Key(STR),
                "port": Key(INT, minimum=1, maximum=65535),
            },
            empty_when_absent=True,
        ),
    },
    required=True,
)


def env_name(path: tuple[str, ...]) -> str:
    """Return the environment variable that overrides the key at ``path``."""
    return "MINOS_" + "_".join(part.upper() for part in path)


def apply_environment(
    data: dict[str, Any], environ: Mapping[str, str]
) -> dict[str, tuple[str, ...]]:
    """Write the ``MINOS_*`` overrides into ``data``; return variable -> key path."""
    applied: dict[str, tuple[str, ...]] = {}
    _apply_section(SCHEMA, data, (), environ, applied)
    return applied


def _apply_section(
    section: Section,
    data: dict[str, Any],
    path: tuple[str, ...],
    environ: Mapping[str, str],
    applied: dict[str, tuple[str, ...]],
) -> None:
    for name, spec in section.keys.items():
        key_path = (*path, name)
        if isinstance(spec, Section):
            existing = data.get(name)
            child = existing if isinstance(existing, dict) else {}
            _apply_section(spec, child, key_path, environ, applied)
            if existing is None and child:
                data[name] = child
            continue

        variable = env_name(key_path)
        if spec.kind == DOTTED_MAP:
            current = data.get(name)
            if isinstance(current, dict):
                for entry in list(current):
                    entry_variable = env_name((*key_path, str(entry)))
                    if entry_variable in environ:
                        current[entry] = environ[entry_variable]
                        applied[entry_variable] = (*key_path, str(entry))
            continue
        if variable not in environ:
            continue
        value: Any = environ[variable]
        if spec.kind == DOTTED_LIST:
            value = [item.strip() for item in value.split(",") if item.strip()]
        if section.database and name == "path":
            for other in _POSTGRESQL_KEYS:
                if env_name((*path, other)) not in environ:
                    data.pop(other, None)
        elif (
            section.database
            and name == "database"
            and env_name((*path, "path")) not in environ
        ):
            data.pop("path", None)
        data[name] = value
        applied[variable] = key_path


def build(
    data: Mapping[str, Any], source: str, overrides: Mapping[str, tuple[str, ...]]
) -> dict[str, ConfigSection | MissingConfigSection | Any]:
    """Validate the raw top-level mapping and return its sections by name."""
    checker = _Checker(source, {path: var for var, path in overrides.items()})
    result: dict[str, Any] = {}
    for name, spec in SCHEMA.keys.items():
        assert isinstance(spec, Section)
        result[name] = checker.section(spec, data.get(name), (name,))
    for name, value in data.items():
        if name not in result:
            result[name] = checker.free(value, (name,))
    return result


class _Checker:
    """Converts raw values to their declared types, naming the key on failure."""

    def __init__(self, source: str, variables: Mapping[tuple[str, ...], str]) -> None:
        self.source = source
        self.variables = variables

    def error(self, path: tuple[str, ...], problem: str) -> MinosConfigException:
        key = ".".join(path)
        variable = self.variables.get(path)
        if variable is not None:
            problem = f"{problem} (from environment variable {variable})"
        return MinosConfigException(f"{self.source}: {key}: {problem}")

    def section(
        self, spec: Section, raw: Any, path: tuple[str, ...]
    ) -> ConfigSection | MissingConfigSection:
        key = ".".join(path)
        if raw is None:
            if spec.required:
                raise self.error(path, "required section is missing")
            if spec.empty_when_absent:
                return ConfigSection(self.source, key, {}, frozenset(spec.keys))
            return MissingConfigSection(self.source, key)
        if not isinstance(raw, dict):
            raise self.error(path, f"expected a mapping of keys, got {_describe(raw)}")

        values: dict[str, Any] = {}
        for name, child in spec.keys.items():
            child_path = (*path, name)
            if isinstance(child, Section):
                values[name] = self.section(child, raw.get(name), child_path)
                continue
            value = raw.get(name)
            if value is None:
                if child.required:
                    raise self.error(child_path, f"required {child.kind} is missing")
                if child.default is not _UNSET:
                    values[name] = _copy(child.default)
                continue
            values[name] = self.bounded(
                child, self.value(child.kind, value, child_path), child_path
            )
        if spec.database:
            self.database(values, path)
        for name, value in raw.items():
            if name not in spec.keys:
                values[name] = self.free(value, (*path, str(name)))
        return ConfigSection(self.source, key, values, frozenset(spec.keys))

    def database(self, values: dict[str, Any], path: tuple[str, ...]) -> None:
        """Check a database section holds SQLite ``path`` or a PostgreSQL connection."""
        given = [name for name in _POSTGRESQL_KEYS if name in values]
        if "path" in values:
            if given:
                raise self.error(
                    path,
                    f"holds both 'path' (SQLite) and {', '.join(map(repr, given))} "
                    "(PostgreSQL); keep one of the two",
                )
            return
        if "database" not in values:
            raise self.error(
                path,
                "needs either 'database' (with host, port, user, password: "
                "PostgreSQL) or 'path' (an SQLite file)",
            )
        postgresql = {
            name: values.get(name, _POSTGRESQL_DEFAULTS.get(name))
            for name in _POSTGRESQL_KEYS
        }
        rest = {name: value for name, value in values.items() if name not in postgresql}
        values.clear()
        values.update(postgresql)
        values.update(rest)

    def value(self, kind: str, value: Any, path: tuple[str, ...]) -> Any:
        if kind == STR:
            return self.string(value, path)
        if kind == INT:
            return self.integer(value, path)
        if kind == DOTTED:
            return self.dotted(value, path)
        if kind == DOTTED_MAP:
            if not isinstance(value, dict):
                raise self.error(path, f"expected a {kind}, got {_describe(value)}")
            return {
                str(name): self.dotted(item, (*path, str(name)))
                for name, item in value.items()
            }
        if kind == DOTTED_LIST:
            if not isinstance(value, list):
                raise self.error(path, f"expected a {kind}, got {_describe(value)}")
            return [
                self.dotted(item, (*path[:-1], f"{path[-1]}[{index}]"))
                for index, item in enumerate(value)
            ]
        raise AssertionError(f"unknown key kind {kind!r}")

    def bounded(self, key: Key, value: Any, path: tuple[str, ...]) -> Any:
        """Refuse blank strings and integers outside the key's range."""
        if key.kind == STR and isinstance(value, str) and not value.strip():
            raise self.error(path, "must not be empty")
        if key.kind == INT and isinstance(value, int):
            if key.minimum is not None and value < key.minimum:
                raise self.error(path, f"must be at least {key.minimum}, got {value}")
            if key.maximum is not None and value > key.maximum:
                raise self.error(path, f"must be at most {key.maximum}, got {value}")
        return value

    def string(self, value: Any, path: tuple[str, ...]) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self.error(path, f"expected a string, got {_describe(value)}; quote it")

    def integer(self, value: Any, path: tuple[str, ...]) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            return int(value)
        raise self.error(path, f"expected an integer, got {_describe(value)}")

    def dotted(self, value: Any, path: tuple[str, ...]) -> str:
        if isinstance(value, str) and _DOTTED_PATH.match(value):
            return value
        raise self.error(
            path,
            f"expected a dotted path such as 'package.module.Class', "
            f"got {_describe(value)}",
        )

    def free(self, value: Any, path: tuple[str, ...]) -> Any:
        """Keep a value the schema does not describe, nested mappings as sections."""
        if isinstance(value, dict):
            return ConfigSection(
                self.source,
                ".".join(path),
                {str(k): self.free(v, (*path, str(k))) for k, v in value.items()},
            )
        if isinstance(value, list):
            return [self.free(item, path) for item in value]
        return value


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value
