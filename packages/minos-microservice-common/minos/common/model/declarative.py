"""Models whose fields are declared as class annotations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .abc import Model
from .codecs.base import Mismatch
from .exceptions import (
    MinosAttributeValidationException,
    MinosMalformedAttributeException,
    MinosModelAttributeException,
    MinosParseAttributeException,
    MinosSerializationException,
    describe_value,
)
from .meta import FieldSpec, ModelMeta, compile_meta, required_error, type_error
from .types import MISSING

__all__ = ["DeclarativeModel"]


class DeclarativeModel(Model):
    """A model whose fields are its class annotations.

    Positional arguments follow declaration order (keyword-only fields skipped);
    class-level values are defaults; ``Optional`` fields default to ``None``;
    names starting with ``_`` and ``ClassVar`` annotations are not fields.
    ``parse_<field>(value)`` transforms an input before validation and
    ``validate_<field>(value) -> bool`` checks it after.
    """

    #: Fields that bytes must carry: their defaults are not used when decoding.
    _required_on_decode: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        meta = cls._model_meta or cls._compile_meta()
        if args:
            positional = meta.positional
            if len(args) > len(positional):
                raise MinosModelAttributeException(
                    f"{cls.__name__} takes at most {len(positional)} positional values "
                    f"({', '.join(s.name for s in positional)}), {len(args)} given",
                    model=cls.__name__,
                )
            for spec, value in zip(positional, args, strict=False):
                if spec.name in kwargs:
                    raise MinosModelAttributeException(
                        f"{cls.__name__}.{spec.name}: given both by position and by "
                        "keyword",
                        model=cls.__name__,
                        field=spec.name,
                    )
                kwargs[spec.name] = value
        meta.assign(self, kwargs)

    # --- hooks and errors (off the hot path) ---------------------------------------

    def _parse(self, spec: FieldSpec, value: Any) -> Any:
        try:
            return spec.parse(self, value)  # type: ignore[misc]
        except MinosModelAttributeException:
            raise
        except Exception as error:
            name = type(self).__name__
            raise MinosParseAttributeException(
                f"{name}.{spec.name}: parse_{spec.name} failed on "
                f"{describe_value(value)}: {type(error).__name__}: {error}",
                model=name,
                field=spec.name,
            ) from error

    def _check(self, spec: FieldSpec, value: Any) -> None:
        name = type(self).__name__
        try:
            accepted = spec.check(self, value)  # type: ignore[misc]
        except MinosModelAttributeException:
            raise
        except Exception as error:
            raise MinosAttributeValidationException(
                f"{name}.{spec.name}: validate_{spec.name} failed on "
                f"{describe_value(value)}: {type(error).__name__}: {error}",
                model=name,
                field=spec.name,
            ) from error
        if not accepted:
            raise MinosAttributeValidationException(
                f"{name}.{spec.name}: {describe_value(value)} was rejected by "
                f"validate_{spec.name}",
                model=name,
                field=spec.name,
            )

    @classmethod
    def _missing(
        cls, spec: FieldSpec, kwargs: Mapping[str, Any], meta: ModelMeta
    ) -> Exception:
        if any(name not in meta.by_name for name in kwargs):
            return cls._unknown(kwargs, meta)
        return required_error(cls.__name__, spec)

    @classmethod
    def _unknown(cls, kwargs: Mapping[str, Any], meta: ModelMeta) -> Exception:
        unknown = [repr(k) for k in kwargs if k not in meta.by_name]
        return MinosMalformedAttributeException(
            f"{cls.__name__}: unknown field(s) {', '.join(unknown)}; "
            f"its fields are: {meta.names}",
            model=cls.__name__,
            field=unknown[0].strip("'") if unknown else None,
        )

    # --- class metadata ------------------------------------------------------------

    @classmethod
    def _compile_meta(cls) -> ModelMeta:
        meta = cls.__dict__.get("_model_meta")
        if meta is None:
            meta = compile_meta(cls, DeclarativeModel)
            cls._model_meta = meta
        return meta

    @classmethod
    def _declared_hints(cls) -> dict[str, Any]:
        return (cls._model_meta or cls._compile_meta()).hints

    def _field_hints(self) -> dict[str, Any]:
        return type(self)._model_meta.hints  # type: ignore[no-any-return]

    @classmethod
    def _avro_defaults(cls) -> dict[str, Any]:
        return (cls._model_meta or cls._compile_meta()).avro_defaults

    @classmethod
    def field_types(cls) -> dict[str, Any]:
        """The declared field types, in declaration order."""
        return dict(cls._declared_hints())

    # --- attribute assignment --------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        spec = type(self)._model_meta.by_name.get(name)
        if spec is None:
            object.__setattr__(self, name, value)
            return
        if spec.parse is not None:
            value = self._parse(spec, value)
        if type(value) is not spec.exact:
            try:
                value = spec.validate(value)
            except Mismatch as mismatch:
                raise type_error(type(self).__name__, spec, mismatch) from None
        if spec.check is not None:
            self._check(spec, value)
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        if name in type(self)._model_meta.by_name:
            raise MinosMalformedAttributeException(
                f"{type(self).__name__}.{name}: fields cannot be deleted",
                model=type(self).__name__,
                field=name,
            )
        object.__delattr__(self, name)

    # --- building from data -----------------------------------------------------------

    @classmethod
    def _from_json_mapping(cls, data: Mapping[str, Any]) -> Any:
        meta = cls._model_meta or cls._compile_meta()
        if not meta.json_fields:
            return cls(**data)
        values = dict(data)
        for spec in meta.json_fields:
            value = values.get(spec.name)
            if value is not None:
                try:
                    values[spec.name] = spec.codec.from_json(value)
                except Mismatch as mismatch:
                    raise type_error(cls.__name__, spec, mismatch) from None
        return cls(**values)

    @classmethod
    def _from_model(cls, other: Model) -> Any:
        """Rebuild a model of another class with the same name (a DTO) as this class."""
        meta = cls._model_meta or cls._compile_meta()
        values = other.__dict__
        return cls(**{n: values[n] for n in other._field_hints() if n in meta.by_name})

    @classmethod
    def _evolve(cls, values: dict[str, Any], writer: Mapping[str, Any]) -> Any:
        """Build from data written with other fields or field types (evolution)."""
        meta = cls._model_meta or cls._compile_meta()
        result = {}
        for spec in meta.fields:
            if spec.name in values:
                value = values[spec.name]
                if repr(writer.get(spec.name)) != repr(spec.hint):
                    try:
                        value = spec.validate(value)
                    except Mismatch as mismatch:
                        raise type_error(cls.__name__, spec, mismatch) from None
            elif spec.name in cls._required_on_decode:
                raise MinosSerializationException(
                    f"{cls.__name__}: the data has no {spec.name}; it cannot be "
                    "made up when reading"
                )
            elif spec.factory is not None:
                value = spec.factory()
            elif spec.default is not MISSING:
                value = spec.default
            else:
                raise required_error(cls.__name__, spec)
            result[spec.name] = value
        obj = object.__new__(cls)
        if meta.hooked:
            meta.assign(obj, result)
        else:
            obj.__dict__.update(result)
        return obj
