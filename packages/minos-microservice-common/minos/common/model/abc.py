"""The ``Model`` base class and its metaclass ``ModelType``."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from .exceptions import MinosMalformedAttributeException, MinosModelException
from .fields import Field
from .names import register, reserved_names

__all__ = ["Model", "ModelType"]


class ModelType(type):
    """Metaclass of every model; ``ModelType.build`` creates DTO types at runtime.

    ``build`` returns the same type for the same name, namespace and field types,
    so built types compare equal exactly when those are equal.
    """

    _model_meta: Any
    _model_localns: dict[str, Any] | None
    _dto_key: tuple[Any, ...] | None

    def __new__(
        mcs,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        **kwargs: Any,
    ) -> ModelType:
        namespace["_model_meta"] = None
        namespace["_model_codec"] = None
        namespace["_avro_static"] = None
        namespace.setdefault("_dto_key", None)
        localns = None
        if namespace.get("_dto_key") is None:
            frame = sys._getframe(1)
            if frame.f_locals is not frame.f_globals:
                localns = dict(frame.f_locals)
        namespace["_model_localns"] = localns
        _check_field_names(name, bases, namespace.get("__annotations__"))
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        if cls._dto_key is None:
            register(cls)
        return cls

    @classmethod
    def build(
        mcs,
        name: str,
        type_hints: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> type[Any]:
        """Build (or reuse) the ``DataTransferObject`` type ``name`` with these fields.

        ``ModelType.build("BookDTO", {"uuid": UUID, "title": str})(uuid, "Dune")``.
        """
        from .dynamic import build_dto_type

        hints = dict(type_hints or {})
        return build_dto_type(name, hints, namespace)


def _check_field_names(
    name: str, bases: tuple[type, ...], annotations: Mapping[str, Any] | None
) -> None:
    """Refuse fields that would hide a method or property of the model classes."""
    if not annotations or not bases:
        return
    reserved = reserved_names(klass for base in bases for klass in base.__mro__)
    for field_name, annotation in annotations.items():
        if field_name not in reserved:
            continue
        if "ClassVar" in str(annotation):
            continue
        raise MinosMalformedAttributeException(
            f"{name}.{field_name}: a field cannot be named {field_name!r}, it would "
            f"hide the model member {field_name}(); rename the field",
            model=name,
            field=field_name,
        )


class _class_or_instance_property:
    """A read-only property that also answers on the class (``Book.avro_schema``)."""

    def __init__(self, getter: Any) -> None:
        self.getter = getter
        self.__doc__ = getter.__doc__

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is not None:
            return self.getter(instance)
        if owner._declared_hints_or_none() is None:
            # Fields known per instance only (Model, BucketModel...): no class
            # answer. Tools that scan classes (dependency wiring) must not fail.
            return self
        try:
            return self.getter(owner)
        except MinosModelException:
            # Classes holding ``Any`` have no schema until an instance gives one.
            return self


class Model(metaclass=ModelType):
    """Base of every model: a typed record readable as a mapping of its fields."""

    _model_meta: ClassVar[Any]
    #: Whether field types are per instance (dynamic models) or per class.
    _per_instance_fields: ClassVar[bool] = False

    # --- what subclasses provide -------------------------------------------------

    @classmethod
    def _declared_hints(cls) -> dict[str, Any] | None:
        """The field types shared by every instance, or ``None`` if per instance."""
        raise NotImplementedError

    def _field_hints(self) -> dict[str, Any]:
        """The field types of this instance, in field order."""
        raise NotImplementedError

    @classmethod
    def _declared_hints_or_none(cls) -> dict[str, Any] | None:
        try:
            return cls._declared_hints()
        except NotImplementedError:
            return None

    # --- mapping behaviour ---------------------------------------------------------

    def keys(self) -> Iterable[str]:
        """The field names, in declaration order."""
        return self._field_hints().keys()

    def values(self) -> list[Any]:
        """The field values, in declaration order."""
        d = self.__dict__
        return [d[name] for name in self._field_hints()]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs, in declaration order."""
        d = self.__dict__
        return [(name, d[name]) for name in self._field_hints()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._field_hints())

    def __len__(self) -> int:
        return len(self._field_hints())

    def __contains__(self, name: object) -> bool:
        return name in self._field_hints()

    def __getitem__(self, name: str) -> Any:
        if name not in self._field_hints():
            raise KeyError(name)
        return self.__dict__[name]

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in self._field_hints():
            raise KeyError(name)
        setattr(self, name, value)

    @property
    def fields(self) -> dict[str, Field]:
        """The fields (name, declared type, current value), in declaration order."""
        d = self.__dict__
        return {
            name: Field(name, hint, d[name])
            for name, hint in self._field_hints().items()
        }

    # --- comparison and rendering ------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Model):
            return NotImplemented
        if type(self).__name__ != type(other).__name__:
            return False
        names = self._field_hints().keys()
        if names != other._field_hints().keys():
            return False
        mine, theirs = self.__dict__, other.__dict__
        for name in names:
            if mine[name] != theirs[name]:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        d = self.__dict__
        inner = ", ".join(f"{name}={d[name]!r}" for name in self._field_hints())
        return f"{type(self).__name__}({inner})"

    # --- serialization -------------------------------------------------------------

    @_class_or_instance_property
    def avro_schema(self) -> list[dict[str, Any]]:
        """The Avro schema of this model (or class): a list of one record schema."""
        return [_avro.model_schema(self)]

    @property
    def avro_data(self) -> dict[str, Any]:
        """This model as the Avro datum matching ``avro_schema``."""
        return _avro.model_datum(self)

    @property
    def avro_bytes(self) -> bytes:
        """This model encoded as minos Avro bytes (schema included)."""
        return _avro.encode_value(self)

    @classmethod
    def from_avro_bytes(cls, data: bytes) -> Any:
        """Decode bytes from ``avro_bytes`` or ``to_avro_bytes`` (a model or a list)."""
        return _avro.decode_model_bytes(cls, data)

    @classmethod
    def to_avro_bytes(cls, models: list[Model]) -> bytes:
        """Encode a non-empty list of models of one type as minos Avro bytes."""
        return _avro.encode_models(models)

    @classmethod
    def from_avro(cls, schema: Any, data: Any) -> Any:
        """Build a model from an Avro schema (dict or list form) and its datum."""
        return _avro.decode_datum(cls, schema, data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Any:
        """Build a model from a mapping of field values (JSON-like data accepted)."""
        if type(data) is not dict and not isinstance(data, Mapping):
            raise MinosModelException(
                f"{cls.__name__}.from_dict expects a mapping, got {type(data).__name__}"
            )
        for key in data:
            if type(key) is not str:
                raise MinosMalformedAttributeException(
                    f"{cls.__name__}.from_dict: field names are strings, got "
                    f"{key!r:.60} ({type(key).__name__})",
                    model=cls.__name__,
                )
        try:
            return cls._from_json_mapping(data)
        except RecursionError:
            raise MinosMalformedAttributeException(
                f"{cls.__name__}.from_dict: the data nests too deep",
                model=cls.__name__,
            ) from None

    @classmethod
    def _from_json_mapping(cls, data: Mapping[str, Any]) -> Any:
        return cls(**data)

    @classmethod
    def from_json(cls, data: bytes | str) -> Any:
        """Build a model from a JSON object (bytes or text)."""
        return cls.from_dict(_json.json_loads(data))

    def to_json(self) -> bytes:
        """This model as JSON bytes (UUIDs and datetimes as strings)."""
        return _json.json_dumps(self)

    def to_json_data(self) -> dict[str, Any]:
        """This model as plain JSON-compatible data."""
        return _json.to_json_data(self)

    def __copy__(self) -> Model:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new


# The serializers build on Model, so they are bound once it exists.
from .serializers import avro as _avro  # noqa: E402
from .serializers import json as _json  # noqa: E402
