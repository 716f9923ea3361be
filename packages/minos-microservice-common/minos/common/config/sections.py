"""Read-only views of the sections of a loaded configuration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..exceptions import MinosConfigException

__all__ = ["ConfigSection", "MissingConfigSection"]


class ConfigSection:
    """A section whose keys read as typed attributes (``config.rest.port``).

    Keys the schema knows but the file leaves out read as ``None``; ``_asdict()``
    returns the keys that are set (defaults included) as plain, nested dicts. An
    empty section (``discovery`` when the file has none) is falsy.
    """

    __slots__ = ("_source", "_key", "_values", "_optional")

    def __init__(
        self,
        source: str,
        key: str,
        values: Mapping[str, Any],
        optional: frozenset[str] = frozenset(),
    ) -> None:
        self._source = source
        self._key = key
        self._values = dict(values)
        self._optional = optional

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            if name in self._optional:
                return None
            raise AttributeError(
                f"{self._source}: {self._key}.{name}: no such key in this section"
            ) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConfigSection):
            return self._asdict() == other._asdict()
        return NotImplemented

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"ConfigSection[{self._key}]({fields})"

    def _asdict(self) -> dict[str, Any]:
        """Return the section as a plain dict, nested sections included."""
        return {key: _plain(value) for key, value in self._values.items()}


class MissingConfigSection:
    """Stands for a section the file does not have; reading it is a clear error.

    It is falsy, so ``if config.discovery:`` tells whether a section exists.
    """

    __slots__ = ("_source", "_key")

    def __init__(self, source: str, key: str) -> None:
        self._source = source
        self._key = key

    def _error(self) -> MinosConfigException:
        variables = "MINOS_" + self._key.replace(".", "_").upper() + "_*"
        return MinosConfigException(
            f"{self._source}: {self._key}: section is missing; add it to the file "
            f"or set its {variables} environment variables"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise self._error()

    def __bool__(self) -> bool:
        return False

    def __contains__(self, name: object) -> bool:
        return False

    def __repr__(self) -> str:
        return f"MissingConfigSection[{self._key}]"

    def _asdict(self) -> dict[str, Any]:
        raise self._error()


def _plain(value: Any) -> Any:
    if isinstance(value, ConfigSection):
        return value._asdict()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
