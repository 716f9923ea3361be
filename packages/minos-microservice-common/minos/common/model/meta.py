"""Per-class field metadata of declarative models, and generated constructors."""

from __future__ import annotations

import copy
import inspect
import sys
import types
import typing
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Union, get_args, get_origin
from uuid import UUID

from .codecs.base import Codec, Mismatch, UnsupportedType
from .codecs.compiler import codec_for
from .codecs.models import COMPILING
from .exceptions import (
    MinosMalformedAttributeException,
    MinosReqAttributeException,
    MinosTypeAttributeException,
    describe_value,
)
from .fields import FieldOptions
from .types import MISSING, NoneType, type_repr

__all__: list[str] = []


class FieldSpec:
    """Everything the constructor needs about one field, computed once per class."""

    __slots__ = (
        "name",
        "hint",
        "codec",
        "exact",
        "validate",
        "parse",
        "check",
        "default",
        "factory",
        "kw_only",
    )

    def __init__(self, name: str, hint: Any, codec: Codec) -> None:
        self.name = name
        self.hint = hint
        self.codec = codec
        self.exact = codec.exact
        self.validate = codec.validate
        self.parse: Callable[[Any, Any], Any] | None = None
        self.check: Callable[[Any, Any], Any] | None = None
        self.default: Any = MISSING
        self.factory: Callable[[], Any] | None = None
        self.kw_only = False


class ModelMeta:
    """The compiled field metadata of one declarative model class."""

    __slots__ = (
        "fields",
        "by_name",
        "positional",
        "hints",
        "avro_defaults",
        "names",
        "assign",
        "json_fields",
        "hooked",
    )

    def __init__(self, fields: list[FieldSpec]) -> None:
        self.fields = tuple(fields)
        self.by_name = {spec.name: spec for spec in fields}
        self.positional = tuple(spec for spec in fields if not spec.kw_only)
        self.hints = {spec.name: spec.hint for spec in fields}
        self.names = ", ".join(spec.name for spec in fields)
        self.json_fields = tuple(spec for spec in fields if spec.codec.json_differs)
        #: Whether a ``parse_<field>`` or ``validate_<field>`` hook is defined, so
        #: decoding must run the generated constructor instead of the fast path.
        self.hooked = any(s.parse is not None or s.check is not None for s in fields)
        self.avro_defaults: dict[str, Any] = {}
        for spec in fields:
            default = spec.default
            if default is None and _nullable(spec.hint):
                self.avro_defaults[spec.name] = None
            elif type(default) in (bool, int, float, str) and spec.hint is type(
                default
            ):
                self.avro_defaults[spec.name] = default
        self.assign: Callable[[Any, dict[str, Any]], None] = _unset


def _unset(obj: Any, kwargs: dict[str, Any]) -> None:
    raise AssertionError("the constructor of this model was not generated")


def _generate_assign(
    cls: type, meta: ModelMeta, base: type
) -> tuple[Callable[[Any, dict[str, Any]], None], Callable[..., None]]:
    """Generate the straight-line code that validates and stores constructor values.

    Per field: take the value (or its default), run ``parse_<field>``, skip the
    type check when the value already has the exact type, else validate, run
    ``validate_<field>``, store. Unknown names are reported at the end.
    """
    from .codecs.scalars import IntCodec, StrCodec
    from .codecs.unions import OptionalCodec

    namespace: dict[str, Any] = {
        "_M": MISSING,
        "_Mismatch": Mismatch,
        "type_error": type_error,
        "_name": cls.__name__,
        "_cls": cls,
        "_meta": meta,
        "_lo": -(2**63),
        "_hi": 2**63 - 1,
    }
    lines = [
        "    d = self.__dict__",
        "    get = kwargs.get",
        "    used = 0",
    ]
    for index, spec in enumerate(meta.fields):
        key = repr(spec.name)
        namespace[f"_s{index}"] = spec
        namespace[f"_v{index}"] = spec.validate
        namespace[f"_x{index}"] = spec.exact
        lines.append(f"    v = get({key}, _M)")
        lines.append("    if v is _M:")
        if spec.factory is not None:
            namespace[f"_f{index}"] = spec.factory
            lines.append(f"        d[{key}] = _f{index}()")
        elif spec.default is not MISSING:
            namespace[f"_d{index}"] = spec.default
            lines.append(f"        d[{key}] = _d{index}")
        else:
            lines.append(f"        raise _cls._missing(_s{index}, kwargs, _meta)")
        lines.append("    else:")
        lines.append("        used += 1")
        if spec.parse is not None:
            lines.append(f"        v = self._parse(_s{index}, v)")
        codec = spec.codec
        if isinstance(codec, IntCodec):
            condition = "type(v) is not int or not _lo <= v <= _hi"
        elif isinstance(codec, StrCodec):
            condition = "type(v) is not str or not v.isascii()"
        elif isinstance(codec, OptionalCodec) and isinstance(codec.inner, StrCodec):
            condition = "v is not None and (type(v) is not str or not v.isascii())"
        elif spec.exact is not None:
            condition = f"type(v) is not _x{index}"
        elif isinstance(codec, OptionalCodec) and codec.inner.exact is not None:
            namespace[f"_x{index}"] = codec.inner.exact
            condition = f"v is not None and type(v) is not _x{index}"
        else:
            condition = "True"
        lines.append(f"        if {condition}:")
        lines.append("            try:")
        lines.append(f"                v = _v{index}(v)")
        lines.append("            except _Mismatch as m:")
        lines.append(f"                raise type_error(_name, _s{index}, m) from None")
        if spec.check is not None:
            lines.append(f"        self._check(_s{index}, v)")
        lines.append(f"        d[{key}] = v")
    lines.append("    if used != len(kwargs):")
    lines.append("        raise _cls._unknown(kwargs, _meta)")
    body = "\n".join(lines) + "\n"
    source = "def assign(self, kwargs):\n" + body
    source += "def __init__(self, *args, **kwargs):\n"
    source += "    if args or type(self) is not _cls:\n"
    source += "        return _generic(self, *args, **kwargs)\n"
    source += body
    namespace["_generic"] = base.__init__
    exec(source, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init._generated = True
    return namespace["assign"], init


def _nullable(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType) and NoneType in get_args(hint)


def _is_collaborator(value: Any) -> bool:
    """Class attributes that are injected collaborators, not field defaults."""
    return type(value).__module__.split(".")[0] == "dependency_injector"


def _hook(cls: type, name: str) -> Callable[[Any, Any], Any] | None:
    raw = inspect.getattr_static(cls, name, None)
    if raw is None:
        return None
    if isinstance(raw, (staticmethod, classmethod)):
        bound = getattr(cls, name)
        return lambda self, value: bound(value)
    if callable(raw):
        return raw  # type: ignore[no-any-return]
    return None


def _resolve(cls: type, base: type, name: str, annotation: Any) -> Any:
    """Evaluate one annotation in the namespace its class was written in."""
    namespace: dict[str, Any] = dict(vars(base))
    module = sys.modules.get(base.__module__)
    if module is not None:
        namespace.update(vars(module))
    namespace.update(base.__dict__.get("_model_localns") or {})
    namespace.setdefault(base.__name__, base)
    namespace.setdefault(cls.__name__, cls)
    shim = type("_Annotations", (), {"__annotations__": {name: annotation}})
    try:
        return typing.get_type_hints(shim, namespace, namespace, include_extras=True)[
            name
        ]
    except Exception as error:
        raise MinosMalformedAttributeException(
            f"{cls.__name__}.{name}: the type {annotation!r} cannot be resolved "
            f"({type(error).__name__}: {error}); define or import it in "
            f"{base.__module__}",
            model=cls.__name__,
            field=name,
        ) from None


def _collect(cls: type) -> dict[str, Any]:
    """The field annotations of a class and its bases, in declaration order."""
    hints: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        annotations = base.__dict__.get("__annotations__")
        if not annotations:
            continue
        for name, annotation in annotations.items():
            if name.startswith("_"):
                continue
            if isinstance(annotation, str) and "ClassVar" in annotation.split("[")[0]:
                hints.pop(name, None)
                continue
            hint = _resolve(cls, base, name, annotation)
            if hint is ClassVar or get_origin(hint) is ClassVar:
                hints.pop(name, None)
                continue
            hints[name] = hint
    return hints


def compile_meta(cls: type, base: type) -> ModelMeta:
    """Build the field metadata of a declarative class (on first use).

    ``base`` is the class whose ``__init__`` the generated constructors fall
    back to (for positional arguments and subclass instances).
    """
    COMPILING.add(cls)
    try:
        return _compile_meta(cls, base)
    finally:
        COMPILING.discard(cls)


def _compile_meta(cls: type, base: type) -> ModelMeta:
    specs = []
    for name, hint in _collect(cls).items():
        default = _class_value(cls, name)
        if _is_collaborator(default):
            continue
        try:
            codec = codec_for(hint)
        except UnsupportedType as error:
            raise MinosMalformedAttributeException(
                f"{cls.__name__}.{name}: {error}", model=cls.__name__, field=name
            ) from None
        spec = FieldSpec(name, hint, codec)
        options = default if isinstance(default, FieldOptions) else None
        if options is not None:
            default = options.default
            spec.factory = options.default_factory
            spec.kw_only = options.kw_only
        if default is MISSING and spec.factory is None and _nullable(hint):
            default = None
        if default is not MISSING:
            try:
                default = codec.validate(default)
            except Mismatch as mismatch:
                raise type_error(cls.__name__, spec, mismatch) from None
            if _immutable(default):
                spec.default = default
            else:
                spec.factory = _copier(default)
        spec.parse = _hook(cls, f"parse_{name}")
        spec.check = _hook(cls, f"validate_{name}")
        specs.append(spec)
    meta = ModelMeta(specs)  # after the hooks are known (``hooked``)
    meta.assign, init = _generate_assign(cls, meta, base)
    if _plain_init(cls, base):
        # Constructors of classes without a custom __init__ skip one call level.
        cls.__init__ = init  # type: ignore[misc]
    return meta


def _plain_init(cls: type, base: type) -> bool:
    """Whether instances of ``cls`` are built by ``base.__init__`` alone."""
    for klass in cls.__mro__:
        if klass is base:
            return True
        init = klass.__dict__.get("__init__")
        if init is not None and not getattr(init, "_generated", False):
            return False
    return False


def _class_value(cls: type, name: str) -> Any:
    """The class-level value of a field: its default (methods are not defaults)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            value = klass.__dict__[name]
            if inspect.isfunction(value) or isinstance(
                value, (property, classmethod, staticmethod)
            ):
                return MISSING
            return value
    return MISSING


_IMMUTABLE = (
    NoneType,
    bool,
    int,
    float,
    str,
    bytes,
    UUID,
    datetime,
    date,
    time,
    timedelta,
    Decimal,
    Enum,
)


def _immutable(value: Any) -> bool:
    """Whether a default can be shared by every instance (nothing in it can change)."""
    if isinstance(value, _IMMUTABLE):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_immutable(item) for item in value)
    from .entities import ValueObject

    if isinstance(value, ValueObject):
        d = value.__dict__
        return all(_immutable(d[name]) for name in value._field_hints())
    return False


def _copier(default: Any) -> Callable[[], Any]:
    """A factory giving each instance its own copy of a mutable default."""
    if isinstance(default, (list, set, dict)) and all(
        _immutable(item)
        for item in (default.values() if isinstance(default, dict) else default)
    ):
        return lambda: copy.copy(default)
    return lambda: copy.deepcopy(default)


def type_error(model: str, spec: FieldSpec, mismatch: Mismatch) -> Exception:
    if mismatch.inner is not None:
        return mismatch.inner.nested(model, spec.name, mismatch.path)
    expected = mismatch.expected if mismatch.path else type_repr(spec.hint)
    reason = f" ({mismatch.reason})" if mismatch.reason else ""
    return MinosTypeAttributeException(
        f"{model}.{spec.name}{mismatch.path}: expected {expected}, "
        f"got {describe_value(mismatch.value)}{reason}",
        model=model,
        field=spec.name,
        path=mismatch.path,
    )


def required_error(model: str, spec: FieldSpec) -> Exception:
    return MinosReqAttributeException(
        f"{model}.{spec.name}: a value of type {type_repr(spec.hint)} is required",
        model=model,
        field=spec.name,
    )
