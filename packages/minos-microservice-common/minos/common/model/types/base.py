"""Small shared pieces of the type system: the missing sentinel and type rendering."""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin

__all__: list[str] = []

NoneType = type(None)


class _Missing:
    """Marks that no value was given (distinct from ``None``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def type_repr(hint: Any) -> str:
    """Render a type hint the way a user writes it (``list[Optional[Author]]``)."""
    if hint is NoneType or hint is None:
        return "None"
    if hint is Any:
        return "Any"
    origin = get_origin(hint)
    if origin is None:
        if isinstance(hint, type):
            return hint.__name__
        if isinstance(hint, typing.ForwardRef):
            return hint.__forward_arg__
        return str(hint)
    args = get_args(hint)
    if origin is Union or origin is types.UnionType:
        if len(args) == 2 and NoneType in args:
            inner = args[0] if args[1] is NoneType else args[1]
            return f"Optional[{type_repr(inner)}]"
        return f"Union[{', '.join(type_repr(a) for a in args)}]"
    name = getattr(origin, "__name__", str(origin))
    return f"{name}[{', '.join(type_repr(a) for a in args)}]"
