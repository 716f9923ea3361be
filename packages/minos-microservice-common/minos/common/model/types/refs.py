"""``ModelRef[T]``: a field that holds either a model or just its UUID."""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["ModelRef"]

T = TypeVar("T")


class ModelRef(Generic[T]):
    """Type marker: ``book: ModelRef[Book]`` holds a ``Book`` or the ``UUID`` of one.

    A string holding a UUID is parsed; a mapping is built as ``T``. Serialized as
    the Avro union ``[T, uuid]``. It is only used in annotations and never
    instantiated.
    """

    def __new__(cls, *args: object, **kwargs: object) -> ModelRef[T]:
        raise TypeError("ModelRef is a type annotation; hold a model or a UUID")
