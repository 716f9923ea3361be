"""Models whose fields are not declared in code: runtime DTO types and free bags."""

from __future__ import annotations

import weakref
from typing import Any

from .abc import Model, ModelType
from .declarative import DeclarativeModel
from .exceptions import MinosMalformedAttributeException, MinosTypeAttributeException
from .names import field_name_problem, model_members
from .types import type_repr

__all__ = ["DataTransferObject", "DynamicModel", "BucketModel"]

#: Built types while something (an instance, a codec, a cache) holds them: the
#: same name and fields give the same type, and types built for names read from
#: bytes do not pile up.
_DTO_TYPES: weakref.WeakValueDictionary[tuple[Any, ...], type[DataTransferObject]] = (
    weakref.WeakValueDictionary()
)


class DataTransferObject(DeclarativeModel):
    """Base of the model types built at runtime with ``ModelType.build``."""


def _check_name(owner: str, name: str) -> None:
    problem = field_name_problem(name, model_members())
    if problem is not None:
        raise MinosMalformedAttributeException(
            f"{owner}: {name!r} {problem}", model=owner, field=str(name)
        )


def build_dto_type(
    name: str, hints: dict[str, Any], namespace: str | None = None
) -> type[DataTransferObject]:
    """Build (or reuse) the DTO type with this name, namespace and field types."""
    if not isinstance(name, str) or not name.isidentifier():
        raise MinosMalformedAttributeException(
            f"{name!r} is not a valid model type name (use a Python identifier)"
        )
    for field_name in hints:
        _check_name(name, field_name)
    key = (
        name,
        namespace,
        tuple((k, v, repr(v)) for k, v in hints.items()),
    )
    cls = _DTO_TYPES.get(key)
    if cls is None:
        body = {
            "__annotations__": dict(hints),
            "__module__": __name__,
            "__qualname__": name,
            "_dto_key": key,
            "_avro_name": (name, namespace),
        }
        cls = ModelType(name, (DataTransferObject,), body)
        _DTO_TYPES[key] = cls  # type: ignore[assignment]
    return cls  # type: ignore[return-value]


class DynamicModel(Model):
    """A model whose fields (and their types) are given per instance.

    ``DynamicModel(title="Dune", copies=3)``: field types are inferred from the
    values; assigning a field re-infers its type; new fields cannot be added.
    """

    _field_types: dict[str, Any]
    _per_instance_fields = True

    def __init__(self, **fields: Any) -> None:
        from .types.inference import UninferableValue, infer_type

        hints = {}
        for name, value in fields.items():
            _check_name(type(self).__name__, name)
            try:
                hints[name] = infer_type(value)
            except UninferableValue as error:
                raise MinosTypeAttributeException(
                    f"{type(self).__name__}.{name}: {error}",
                    model=type(self).__name__,
                    field=name,
                ) from None
        self.__dict__.update(fields)
        object.__setattr__(self, "_field_types", hints)

    @classmethod
    def _declared_hints(cls) -> None:
        return None

    def _field_hints(self) -> dict[str, Any]:
        return self.__dict__["_field_types"]  # type: ignore[no-any-return]

    @classmethod
    def _adopt_hints(cls, obj: DynamicModel, hints: dict[str, Any]) -> None:
        obj.__dict__["_field_types"] = hints

    @classmethod
    def _avro_defaults(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_json_mapping(cls, data: Any) -> Any:
        return cls(**data)

    @classmethod
    def _from_model(cls, other: Model) -> Any:
        values = other.__dict__
        return cls(**{name: values[name] for name in other._field_hints()})

    @classmethod
    def _evolve(cls, values: dict[str, Any], writer: dict[str, Any]) -> Any:
        obj = object.__new__(cls)
        obj.__dict__.update(values)
        obj.__dict__["_field_types"] = dict(writer)
        return obj

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        hints = self._field_hints()
        if name not in hints and not self._open:
            raise MinosMalformedAttributeException(
                f"{type(self).__name__}: unknown field {name!r}; its fields are: "
                f"{', '.join(hints)}",
                model=type(self).__name__,
                field=name,
            )
        from .types.inference import UninferableValue, infer_type

        _check_name(type(self).__name__, name)
        try:
            hint = infer_type(value)
        except UninferableValue as error:
            raise MinosTypeAttributeException(
                f"{type(self).__name__}.{name}: {error}",
                model=type(self).__name__,
                field=name,
            ) from None
        self.__dict__["_field_types"] = {**hints, name: hint}
        self.__dict__[name] = value

    _open = False

    def __repr__(self) -> str:
        d = self.__dict__
        inner = ", ".join(f"{k}={d[k]!r}" for k in self._field_hints())
        return f"{type(self).__name__}({inner})"

    def field_types(self) -> dict[str, Any]:
        """The inferred field types of this instance."""
        return dict(self._field_hints())

    def describe(self) -> str:
        """The instance's fields and inferred types, for logs and errors."""
        return ", ".join(f"{k}: {type_repr(v)}" for k, v in self._field_hints().items())


class BucketModel(DynamicModel):
    """A schemaless bag of values: fields can be added and removed freely."""

    _open = True

    @classmethod
    def empty(cls) -> BucketModel:
        """A bucket without fields."""
        return cls()

    def __delattr__(self, name: str) -> None:
        hints = dict(self._field_hints())
        if name not in hints:
            raise AttributeError(name)
        del hints[name]
        self.__dict__["_field_types"] = hints
        del self.__dict__[name]
