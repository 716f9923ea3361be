"""Loading config.yml into typed sections, and the configuration in use."""

from __future__ import annotations

import copy
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import yaml

from ..exceptions import MinosConfigException, MinosImportException
from ..importlib import import_module
from .schema import apply_environment, build
from .sections import ConfigSection, MissingConfigSection

__all__ = ["MinosConfig"]

logger = logging.getLogger(__name__)

_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class MinosConfig:
    """A microservice's configuration: config.yml plus ``MINOS_*`` overrides.

    Sections read as attributes (``config.repository.port``) and as plain dicts
    (``config.repository._asdict()``); see ``minos.common.config.schema`` for
    the keys, which are required and how the environment overrides them. Dotted
    paths are only checked for syntax here and imported on demand with
    ``import_object``, so the file loads before the classes it names exist.
    """

    _current: ClassVar[MinosConfig | None] = None

    service: ConfigSection
    rest: ConfigSection | MissingConfigSection
    broker: ConfigSection | MissingConfigSection
    repository: ConfigSection | MissingConfigSection
    snapshot: ConfigSection | MissingConfigSection
    events: ConfigSection
    queries: ConfigSection
    commands: ConfigSection
    saga: ConfigSection | MissingConfigSection
    discovery: ConfigSection

    def __init__(
        self,
        path_or_mapping: str | os.PathLike[str] | Mapping[str, Any],
        *,
        with_environment: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(path_or_mapping, Mapping):
            self.path: Path | None = None
            self.source = "<mapping>"
            data = copy.deepcopy(dict(path_or_mapping))
        else:
            self.path = Path(path_or_mapping)
            self.source = os.fspath(path_or_mapping)
            data = self._read(self.path)

        overrides: dict[str, tuple[str, ...]] = {}
        if with_environment:
            overrides = apply_environment(
                data, os.environ if environ is None else environ
            )
        self._sections = build(data, self.source, overrides)

    def _read(self, path: Path) -> dict[str, Any]:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise MinosConfigException(
                f"{self.source}: cannot read the configuration file "
                f"({exc.strerror or exc}); check the path"
            ) from None
        except UnicodeDecodeError as exc:
            raise MinosConfigException(
                f"{self.source}: the configuration file is not UTF-8 ({exc.reason})"
            ) from None

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            where = ""
            mark = getattr(exc, "problem_mark", None)
            if mark is not None:
                where = f" at line {mark.line + 1}, column {mark.column + 1}"
            problem = getattr(exc, "problem", None) or str(exc)
            raise MinosConfigException(
                f"{self.source}: invalid YAML{where}: {problem}"
            ) from None

        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise MinosConfigException(
                f"{self.source}: the top level must be a mapping of sections "
                f"(service, rest, broker...), got {type(data).__name__}"
            )
        return data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._sections[name]
        except KeyError:
            raise AttributeError(
                f"{self.source}: {name}: no such section in the configuration"
            ) from None

    def __contains__(self, name: object) -> bool:
        section = self._sections.get(name) if isinstance(name, str) else None
        return section is not None and not isinstance(section, MissingConfigSection)

    def __repr__(self) -> str:
        return f"MinosConfig({self.source!r})"

    def _asdict(self) -> dict[str, Any]:
        """Return every present section as plain, nested dicts."""
        result: dict[str, Any] = {}
        for name, section in self._sections.items():
            if isinstance(section, MissingConfigSection):
                continue
            result[name] = (
                section._asdict() if isinstance(section, ConfigSection) else section
            )
        return result

    def get(self, key: str) -> Any:
        """Return the value at a key path such as ``"broker.queue.port"``."""
        value: Any = self
        for part in _split_key(key):
            try:
                if isinstance(part, int):
                    value = value[part]
                elif isinstance(value, MinosConfig | ConfigSection):
                    if part not in value:
                        raise KeyError(part)
                    value = getattr(value, part)
                else:
                    value = value[part]
            except (KeyError, IndexError, TypeError, AttributeError):
                raise self.exception(key, "no such key in the configuration") from None
        return value

    def exception(self, key: str, problem: str) -> MinosConfigException:
        """Build the error for a problem with ``key``, naming the file and the key."""
        return MinosConfigException(f"{self.source}: {key}: {problem}")

    def import_object(self, key: str) -> Any:
        """Import what the dotted path at ``key`` names (``"service.services[0]"``)."""
        path = self.get(key)
        if path is None:
            raise self.exception(key, "no dotted path given")
        try:
            return import_module(path)
        except MinosImportException as exc:
            raise self.exception(key, exc.message) from exc

    @classmethod
    def current(cls) -> MinosConfig:
        """Return the configuration the running injector or launcher uses."""
        if cls._current is None:
            raise MinosConfigException(
                "no current configuration: start the microservice with "
                "EntrypointLauncher or DependencyInjector.wire, use 'with config:', "
                "or pass the configuration explicitly"
            )
        return cls._current

    @classmethod
    def set_current(cls, config: MinosConfig | None) -> MinosConfig | None:
        """Make ``config`` the current configuration; return the previous one."""
        previous = MinosConfig._current
        MinosConfig._current = config
        return previous

    def __enter__(self) -> MinosConfig:
        self._previous = MinosConfig.set_current(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        MinosConfig.set_current(self.__dict__.pop("_previous", None))


def _split_key(key: str) -> list[str | int]:
    parts: list[str | int] = []
    for match in _KEY_PART.finditer(key):
        name, index = match.groups()
        parts.append(int(index) if index is not None else name)
    return parts
