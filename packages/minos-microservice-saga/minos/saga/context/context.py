"""``SagaContext``: the values a saga's steps read and write."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from ..exceptions import MinosSagaContextException, MinosSagaSerializationException
from .codec import decode_value, encode_value

__all__ = ["SagaContext"]


class SagaContext(MutableMapping[str, Any]):
    """A mapping of names to values and models, also readable as attributes.

    ``SagaContext(book=book, reader="ann")`` then ``context["book"]`` or
    ``context.book``. It is stored with its execution, so its values must be
    encodable by ``encode_value`` (models, UUIDs, datetimes, containers...).

    Attribute access only reaches names that are not methods of the context:
    values named like ``items``, ``keys``, ``get``, ``copy`` or ``raw`` (and
    names starting with ``_``) are read and written as ``context["items"]``;
    assigning them as attributes is refused.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any):
        object.__setattr__(self, "_fields", {})
        if fields is not None and not isinstance(fields, Mapping):
            raise MinosSagaContextException(
                f"a saga context is built from a mapping of names to values, not "
                f"a {type(fields).__name__} ({str(fields)[:60]!r})"
            )
        for key, value in {**(fields or {}), **kwargs}.items():
            self[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise MinosSagaContextException(
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
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(
                f"the saga context has no value named {name!r} "
                f"(it has: {', '.join(self._fields) or 'nothing'})"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or hasattr(type(self), name):
            raise MinosSagaContextException(
                f"{name!r} is a name of the saga context itself; store the value "
                f"with context[{name!r}] = ... and read it the same way"
            )
        self[name] = value

    def __delattr__(self, name: str) -> None:
        if name.startswith("_") or hasattr(type(self), name):
            raise MinosSagaContextException(
                f"{name!r} is a name of the saga context itself; use "
                f"del context[{name!r}]"
            )
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
    def from_raw(cls, raw: Mapping[str, Any], *, where: str = "") -> SagaContext:
        """Rebuild a context written by ``raw``."""
        if not isinstance(raw, Mapping):
            raise MinosSagaSerializationException(
                f"a stored saga context{f' ({where})' if where else ''} must be a "
                f"JSON object, not {type(raw).__name__}: {str(raw)[:80]!r}"
            )
        prefix = f"{where}." if where else ""
        values = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                raise MinosSagaSerializationException(
                    f"a stored saga context has a key that is not a string: {key!r}"
                )
            values[key] = decode_value(value, where=f"{prefix}{key}")
        return cls(values)

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.items())
        return f"SagaContext({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (dict(self._fields),)
