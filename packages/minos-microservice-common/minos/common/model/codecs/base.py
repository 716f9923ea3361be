"""The ``Codec`` interface every field type implements, and the mismatch signal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import MinosModelAttributeException
from ..types import type_repr

__all__: list[str] = []


class Mismatch(Exception):
    """A value does not fit a codec; carries where inside the value and why."""

    def __init__(
        self,
        expected: str,
        value: Any,
        path: str = "",
        inner: MinosModelAttributeException | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value
        self.path = path
        self.inner = inner
        self.reason = reason

    def within(self, step: str) -> Mismatch:
        """The same mismatch seen from the enclosing container (``[3]``, ``['k']``)."""
        return Mismatch(
            self.expected, self.value, step + self.path, self.inner, self.reason
        )


def remember(cache: dict[Any, Any], key: Any, value: Any, limit: int) -> Any:
    """Store ``value`` in a bounded cache, forgetting the oldest entry when full."""
    if len(cache) >= limit:
        try:
            del cache[next(iter(cache))]
        except (StopIteration, KeyError, RuntimeError):
            pass
    cache[key] = value
    return value


class UnsupportedType(Exception):
    """A declared type cannot be validated or serialized."""


# Avro union branches are written in this order so that fastavro, which takes the
# first branch accepting a value, picks the branch the value was validated with.
RANK_NULL, RANK_PRIMITIVE, RANK_LOGICAL, RANK_ARRAY, RANK_MAP, RANK_NAMED = range(6)


class Codec:
    """How one declared type validates values and converts them to/from Avro data.

    ``exact`` is a class whose instances are already valid as they are, so callers
    may skip ``validate``; ``to_avro``/``from_avro`` are ``None`` when the value
    is its own Avro datum. A codec is ``static`` when its Avro schema does not
    depend on the value (it holds no ``Any``).
    """

    hint: Any = None
    exact: type | None = None
    rank: int = RANK_PRIMITIVE
    kind: str = ""
    name: str | None = None
    to_avro: Callable[[Any], Any] | None = None
    #: Like ``to_avro`` without fastavro's union tags: the plain Avro datum.
    to_plain: Callable[[Any], Any] | None = None
    from_avro: Callable[[Any], Any] | None = None
    json_differs: bool = False
    intrinsically_dynamic: bool = False
    _static: bool | None = None
    #: The Python type fastavro returns for this branch inside a union.
    decoded_type: type | None = None

    @property
    def describe(self) -> str:
        return type_repr(self.hint)

    def validate(self, value: Any) -> Any:
        """Return the value, converted to the declared type, or raise ``Mismatch``."""
        raise NotImplementedError

    def from_json(self, value: Any) -> Any:
        """Like ``validate``, also accepting the JSON forms (base64 bytes...)."""
        return self.validate(value)

    def owns(self, value: Any) -> bool:
        """Whether an already valid value belongs to this type (for union dispatch)."""
        return self.exact is not None and isinstance(value, self.exact)

    def children(self) -> list[Codec]:
        return []

    @property
    def static(self) -> bool:
        """Whether the Avro schema is the same for every value (no ``Any`` inside)."""
        if self._static is None:
            self._static = not _reaches_dynamic(self, set())
        return self._static

    def schema(self, defined: set[str]) -> Any:
        """The Avro schema; named types already in ``defined`` are named only."""
        raise NotImplementedError

    def concretize(self, value: Any) -> Any:
        """A static type hint describing exactly this value (for ``Any`` inside)."""
        return self.hint

    def mismatch(self, value: Any, reason: str = "") -> Mismatch:
        return Mismatch(self.describe, value, reason=reason)


def _reaches_dynamic(codec: Codec, seen: set[int]) -> bool:
    if codec.intrinsically_dynamic:
        return True
    if id(codec) in seen:
        return False
    seen.add(id(codec))
    return any(_reaches_dynamic(child, seen) for child in codec.children())
