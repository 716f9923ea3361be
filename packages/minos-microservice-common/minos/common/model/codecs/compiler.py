"""Turns a type hint into its ``Codec``, once per distinct hint."""

from __future__ import annotations

import collections.abc
import types
import typing
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin
from uuid import UUID

from ..abc import Model, ModelType
from ..types import EntitySet, ModelRef, NoneType, ValueObjectSet
from .base import Codec, UnsupportedType, remember
from .containers import (
    DictCodec,
    EntitySetCodec,
    ListCodec,
    SetCodec,
    ValueObjectSetCodec,
)
from .models import COMPILING, Evolution, EvolvingModelCodec, ModelCodec, Shape
from .scalars import SCALARS, AnyCodec, EnumCodec
from .unions import OptionalCodec, UnionCodec

__all__: list[str] = []

#: Codecs of non-class hints; bounded, as hints also come from bytes read.
_CACHE: dict[tuple[Any, str], Codec] = {}
_MAX_CODECS = 2048
_ANY = AnyCodec()

_LISTS = {list, collections.abc.Sequence, collections.abc.MutableSequence}
_SETS = {set, frozenset, collections.abc.Set, collections.abc.MutableSet}
_DICTS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def codec_for(hint: Any) -> Codec:
    """The codec of a resolved type hint (raises ``UnsupportedType``)."""
    kind = hint.__class__
    if kind is type:
        scalar = SCALARS.get(hint)
        if scalar is not None:
            return scalar
    elif isinstance(hint, ModelType):
        codec = hint.__dict__.get("_model_codec")
        if codec is None:
            codec = ModelCodec(hint)
            hint._model_codec = codec
            if hint not in COMPILING:
                codec.compile()
        return codec  # type: ignore[no-any-return]
    # Union equality ignores order, but resolution follows it: key by rendering too.
    key = (hint, repr(hint))
    codec = _CACHE.get(key)
    if codec is None:
        codec = _compile(hint, key)
    return codec


def _store(key: tuple[Any, str], codec: Codec) -> Codec:
    return remember(_CACHE, key, codec, _MAX_CODECS)  # type: ignore[no-any-return]


def _compile(hint: Any, key: tuple[Any, str]) -> Codec:
    if hint is Any or hint is object:
        return _ANY
    if hint is None:
        return SCALARS[NoneType]
    if isinstance(hint, Shape):
        if isinstance(hint, Evolution):
            return _store(key, EvolvingModelCodec(hint))
        codec = _store(key, ModelCodec(hint.cls, dict(hint.fields), hint))
        codec.compile()
        return codec
    if isinstance(hint, (typing.ForwardRef, str)):
        raise UnsupportedType(f"the type {hint!r} could not be resolved")

    origin = get_origin(hint)
    if origin is None:
        return _compile_class(hint, key)

    args = get_args(hint)
    if origin is Annotated:
        return codec_for(args[0])
    if origin is Union or origin is types.UnionType:
        return _compile_union(hint, key, args)
    if origin in _LISTS:
        return _store(key, ListCodec(hint, codec_for(args[0] if args else Any)))
    if origin in _SETS:
        return _store(key, SetCodec(hint, codec_for(args[0] if args else Any)))
    if origin in _DICTS:
        if args and args[0] is not str:
            raise UnsupportedType(
                f"dict keys must be str (Avro maps have string keys), not {args[0]!r}"
            )
        return _store(key, DictCodec(hint, codec_for(args[1] if args else Any)))
    if origin is ModelRef:
        target = codec_for(args[0])
        if target.kind != "record":
            raise UnsupportedType(f"ModelRef needs a model type, not {args[0]!r}")
        return _store(key, UnionCodec(hint, [target, SCALARS[UUID]]))
    if origin is EntitySet:
        return _store(key, EntitySetCodec(hint, _model_arg(hint, args)))
    if origin is ValueObjectSet:
        return _store(key, ValueObjectSetCodec(hint, _model_arg(hint, args)))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _store(key, ListCodec(hint, codec_for(args[0])))
    if origin is type and args and isinstance(args[0], type):
        raise UnsupportedType(f"classes cannot be serialized ({hint!r})")
    raise UnsupportedType(f"the type {hint!r} is not supported")


def _model_arg(hint: Any, args: tuple[Any, ...]) -> Codec:
    codec = codec_for(args[0]) if args else _ANY
    if codec.kind != "record":
        raise UnsupportedType(f"{hint!r} needs a model type")
    return codec


def _compile_class(hint: Any, key: tuple[Any, str]) -> Codec:
    if not isinstance(hint, type):
        raise UnsupportedType(f"the type {hint!r} is not supported")
    if issubclass(hint, Model):
        return codec_for(hint)
    if issubclass(hint, Enum):
        return _store(key, EnumCodec(hint))
    for scalar, codec in SCALARS.items():
        if scalar is not NoneType and issubclass(hint, scalar) and scalar is not bool:
            # Subclasses of scalar types are held as the scalar type itself.
            return codec
    if hint is list:
        return codec_for(list[Any])
    if hint is dict:
        return codec_for(dict[str, Any])
    if hint in (set, frozenset):
        return codec_for(set[Any])
    raise UnsupportedType(f"the type {hint.__name__} is not supported")


def _compile_union(hint: Any, key: tuple[Any, str], args: tuple[Any, ...]) -> Codec:
    branches = [codec_for(arg) for arg in args]
    if any(branch is _ANY for branch in branches):
        return _ANY
    non_null = [b for b, arg in zip(branches, args, strict=True) if arg is not NoneType]
    if len(non_null) == 1 and len(branches) == 2:
        return _store(key, OptionalCodec(hint, non_null[0]))
    return _store(key, UnionCodec(hint, branches))
