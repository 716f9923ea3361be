"""Codecs of nested models: validation by class, Avro records with generated code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..abc import Model
from ..exceptions import (
    MinosModelAttributeException,
    MinosSerializationException,
    describe_value,
)
from ..names import avro_fullname, avro_name
from ..types import MISSING
from . import compiler
from .base import RANK_NAMED, Codec, Mismatch

__all__: list[str] = []

#: Model classes whose field metadata is being compiled right now; their codecs
#: (met through recursive references) compile later, on first use.
COMPILING: set[type] = set()


class Shape:
    """The concrete field types of one model class (for values holding ``Any``)."""

    __slots__ = ("cls", "fields", "_hash")

    def __init__(self, cls: type[Model], fields: tuple[tuple[str, Any], ...]) -> None:
        self.cls = cls
        self.fields = fields
        self._hash = hash((cls, fields))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Shape)
            and type(other) is type(self)
            and self.cls is other.cls
            and self.fields == other.fields
        )

    def __hash__(self) -> int:
        return self._hash

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.cls(*args, **kwargs)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}: {hint!r}" for name, hint in self.fields)
        return f"{type(self).__name__}({self.cls!r}, {inner})"


class Evolution(Shape):
    """Fields as an older (or other) writer declared them, to be read into ``cls``.

    ``name`` is the writer's Avro full name (it may differ from ``cls``'s).
    """

    __slots__ = ("name",)

    def __init__(
        self,
        cls: type[Model],
        fields: tuple[tuple[str, Any], ...],
        name: str | None = None,
    ) -> None:
        super().__init__(cls, fields)
        self.name = name

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.name == other.name  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return self._hash


class ModelCodec(Codec):
    """A nested model: an instance, a mapping of its fields, or a same-named model."""

    rank = RANK_NAMED
    kind = "record"
    decoded_type = dict

    def __init__(
        self, cls: type[Model], hints: dict[str, Any] | None = None, hint: Any = None
    ) -> None:
        self.cls = cls
        self.hint = cls if hint is None else hint
        self.exact = cls
        self._hints = hints
        self.avro_name, self.namespace = avro_name(cls)
        self.name = (
            f"{self.namespace}.{self.avro_name}" if self.namespace else self.avro_name
        )
        self.fields: list[tuple[str, Codec]] | None = None
        self.to_avro = self._late_to_avro
        self.to_plain = self._late_to_plain
        self._plain: Callable[[Any], Any] | None = None
        self.from_avro = self._late_from_avro
        self._encode: Callable[[Any], Any] | None = None
        self._decode: Callable[[Any], Any] | None = None
        if hints is None and cls._per_instance_fields:
            self.intrinsically_dynamic = True

    @property
    def describe(self) -> str:
        return self.cls.__name__

    def field_hints(self) -> dict[str, Any]:
        hints = self._hints
        if hints is None:
            hints = self.cls._declared_hints()
        return hints or {}

    def field_names(self) -> list[str]:
        return list(self.field_hints())

    def compile(self) -> None:
        """Build the field codecs and the generated record converters."""
        if self.fields is not None or self.intrinsically_dynamic:
            return
        codec_for = compiler.codec_for
        self.fields = [(name, codec_for(h)) for name, h in self.field_hints().items()]
        if self.static:
            self._encode, self._plain, self._decode = _generate(
                self.cls, self.fields, self._hints
            )
            self.to_avro = self._encode
            self.to_plain = self._plain
            self.from_avro = self._decode

    def children(self) -> list[Codec]:
        self.compile()
        return [codec for _, codec in self.fields or ()]

    def _late_to_avro(self, value: Any) -> Any:
        if self._encode is None:
            self.compile()
            if self._encode is None:
                raise TypeError(f"{self.cls.__name__} holds Any; concretize first")
        return self._encode(value)

    def _late_to_plain(self, value: Any) -> Any:
        if self._plain is None:
            self.compile()
            if self._plain is None:
                raise TypeError(f"{self.cls.__name__} holds Any; concretize first")
        return self._plain(value)

    def _late_from_avro(self, datum: Any) -> Any:
        if self._decode is None:
            self.compile()
            if self._decode is None:
                raise TypeError(f"{self.cls.__name__} holds Any; concretize first")
        return self._decode(datum)

    def validate(self, value: Any) -> Any:
        cls = self.cls
        if isinstance(value, cls):
            return value
        try:
            if isinstance(value, dict):
                return cls.from_dict(value)
            if isinstance(value, Model) and type(value).__name__ == cls.__name__:
                return cls._from_model(value)
        except MinosModelAttributeException as error:
            raise Mismatch(self.describe, value, inner=error) from None
        raise self.mismatch(value)

    def schema(self, defined: set[str]) -> Any:
        if self.name in defined:
            return self.name
        defined.add(self.name)
        self.compile()
        if self.fields is None:
            raise TypeError(f"{self.cls.__name__} has per-instance fields; concretize")
        defaults = self.cls._avro_defaults()
        fields = []
        for name, codec in self.fields:
            entry: dict[str, Any] = {"name": name, "type": codec.schema(defined)}
            default = defaults.get(name, MISSING)
            if default is not MISSING:
                entry["default"] = default
            fields.append(entry)
        schema: dict[str, Any] = {"type": "record", "name": self.avro_name}
        if self.namespace:
            schema["namespace"] = self.namespace
        schema["fields"] = fields
        return schema

    def concretize(self, value: Any) -> Any:
        cls = type(value)
        if not cls._per_instance_fields:
            declared = cls._declared_hints()
            codec = compiler.codec_for(cls)
            if codec.static:
                cls._avro_static = True
                return cls
            hints = declared
        else:
            hints = value._field_hints()
        d = value.__dict__
        fields = []
        for name, hint in hints.items():
            codec = compiler.codec_for(hint)
            if codec.static:
                fields.append((name, hint))
                continue
            try:
                fields.append((name, codec.concretize(d[name])))
            except MinosSerializationException:
                raise
            except (TypeError, ValueError) as error:
                raise MinosSerializationException(
                    f"{cls.__name__}.{name}: cannot encode "
                    f"{describe_value(d[name])}: {error}"
                ) from None
        return Shape(cls, tuple(fields))


class EvolvingModelCodec(Codec):
    """Reads records written with other field types (an older version of ``cls``)."""

    rank = RANK_NAMED
    kind = "record"
    decoded_type = dict

    def __init__(self, shape: Evolution) -> None:
        self.hint = shape
        self.cls = shape.cls
        self.exact = shape.cls
        self.avro_name, self.namespace = avro_name(shape.cls)
        self.name = shape.name or avro_fullname(shape.cls)
        self.writer = {name: compiler.codec_for(hint) for name, hint in shape.fields}
        self.writer_hints = dict(shape.fields)
        self.from_avro = self._from_avro

    def field_names(self) -> list[str]:
        return list(self.writer)

    def children(self) -> list[Codec]:
        return list(self.writer.values())

    def validate(self, value: Any) -> Any:
        raise TypeError("evolution codecs only read data")

    def schema(self, defined: set[str]) -> Any:
        raise TypeError("evolution codecs only read data")

    def _from_avro(self, datum: dict[str, Any]) -> Any:
        values = {}
        for name, codec in self.writer.items():
            if name in datum:
                parse = codec.from_avro
                item = datum[name]
                values[name] = parse(item) if parse is not None else item
        return self.cls._evolve(values, self.writer_hints)


def _generate(
    cls: type[Model], fields: list[tuple[str, Codec]], hints: dict[str, Any] | None
) -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """Generate straight-line record converters for one model class."""
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_hints": hints}
    encode_items = []
    plain_items = []
    decode_lines = []
    for index, (name, codec) in enumerate(fields):
        key = repr(name)
        if codec.to_avro is None:
            encode_items.append(f"{key}: d[{key}]")
        else:
            namespace[f"_e{index}"] = codec.to_avro
            encode_items.append(f"{key}: _e{index}(d[{key}])")
        if codec.to_plain is None:
            plain_items.append(f"{key}: d[{key}]")
        else:
            namespace[f"_p{index}"] = codec.to_plain
            plain_items.append(f"{key}: _p{index}(d[{key}])")
        if codec.from_avro is not None:
            namespace[f"_d{index}"] = codec.from_avro
            decode_lines.append(f"    datum[{key}] = _d{index}(datum[{key}])")
    encode_src = (
        "def encode(value):\n"
        "    d = value.__dict__\n"
        f"    return {{{', '.join(encode_items)}}}\n"
    )
    encode_src += (
        "def plain(value):\n"
        "    d = value.__dict__\n"
        f"    return {{{', '.join(plain_items)}}}\n"
    )
    meta = None if cls._per_instance_fields else cls.__dict__.get("_model_meta")
    namespace["_meta"] = meta
    decode_src = "def decode(datum):\n" + "".join(line + "\n" for line in decode_lines)
    decode_src += "    obj = _new(_cls)\n"
    if meta is not None and meta.hooked:
        # parse_/validate_ hooks run on decoded values too (bytes may be tampered).
        decode_src += "    _meta.assign(obj, datum)\n"
    else:
        decode_src += "    obj.__dict__.update(datum)\n"
    if cls._per_instance_fields:
        decode_src += "    _cls._adopt_hints(obj, _hints)\n"
    decode_src += "    return obj\n"
    exec(encode_src, namespace)
    exec(decode_src, namespace)
    return namespace["encode"], namespace["plain"], namespace["decode"]
