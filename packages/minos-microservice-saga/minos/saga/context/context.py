"""``SagaContext``: the values a saga's steps read and write."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from .codec import decode_value, encode_value

__all__ = ["SagaContext"]


class SagaContext(MutableMapping[str, Any]):
    """A mapping of names to values and models, also readable as attributes.

    ``SagaContext(book=book, reader="ann")`` then ``context["book"]`` or
    ``context.book``. It is stored with its execution, so its values must be
    encodable by ``encode_value`` (models, UUIDs, datetimes, containers...).
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any):
        object.__setattr__(self, "_fields", {})
        for key, value in {**(fields or {}), **kwargs}.items():
            self[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(
                f"saga context keys must be strings, not {type(key).__name__} ({key!r})"
            )
        self._fields[key] = value

    def __delitem__(self, key: str) -> None:
        del self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(
                f"the saga context has no value named {name!r} "
                f"(it has: {', '.join(self._fields) or 'nothing'})"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def copy(self) -> SagaContext:
        return SagaContext(self._fields)

    @property
    def raw(self) -> dict[str, Any]:
        """The context as JSON-safe data, for storage."""
        return {key: encode_value(value, where=key) for key, value in self.items()}

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> SagaContext:
        """Rebuild a context written by ``raw``."""
        return cls({key: decode_value(value, where=key) for key, value in raw.items()})

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.items())
        return f"SagaContext({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (dict(self._fields),)
