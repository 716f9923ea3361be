"""Codecs of containers: lists, sets, dicts, entity sets and value-object sets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..abc import Model
from ..types import EntitySet, ValueObjectSet
from ..types.inference import merge_types
from .base import RANK_ARRAY, RANK_MAP, Codec, Mismatch
from .scalars import encodable

__all__: list[str] = []


def _locate(validate: Callable[[Any], Any], items: Iterable[Any]) -> Mismatch:
    """Find which item of a sequence failed, for the error message."""
    for index, item in enumerate(items):
        try:
            validate(item)
        except Mismatch as mismatch:
            return mismatch.within(f"[{index}]")
    raise AssertionError("no item failed twice")  # pragma: no cover


def _validate_items(item: Codec, values: Iterable[Any], json: bool) -> list[Any]:
    check = item.from_json if json else item.validate
    exact = item.exact
    try:
        if exact is None:
            return [check(value) for value in values]
        return [value if type(value) is exact else check(value) for value in values]
    except Mismatch:
        raise _locate(check, values) from None


class ListCodec(Codec):
    kind = "array"
    rank = RANK_ARRAY
    decoded_type = list

    def __init__(self, hint: Any, item: Codec) -> None:
        self.hint = hint
        self.item = item
        self.json_differs = item.json_differs
        convert = item.to_avro
        self.to_avro = (lambda v: [convert(x) for x in v]) if convert else None
        plain = item.to_plain
        self.to_plain = (lambda v: [plain(x) for x in v]) if plain else None
        parse = item.from_avro
        self.from_avro = (lambda v: [parse(x) for x in v]) if parse else None

    def children(self) -> list[Codec]:
        return [self.item]

    def owns(self, value: Any) -> bool:
        return isinstance(value, list)

    def validate(self, value: Any, json: bool = False) -> Any:
        if isinstance(value, (list, tuple)):
            return _validate_items(self.item, value, json)
        raise self.mismatch(value)

    def from_json(self, value: Any) -> Any:
        return self.validate(value, True)

    def schema(self, defined: set[str]) -> Any:
        return {"type": "array", "items": self.item.schema(defined)}

    def concretize(self, value: Any) -> Any:
        return list[merge_types([self.item.concretize(x) for x in value])]


class SetCodec(ListCodec):
    """Sets; lists, tuples and frozensets are accepted. Avro: array, logical ``set``."""

    container: Callable[[Iterable[Any]], Any] = set
    logical = "set"

    def __init__(self, hint: Any, item: Codec) -> None:
        super().__init__(hint, item)
        convert, parse, container = item.to_avro, item.from_avro, self.container
        self.to_avro = (lambda v: [convert(x) for x in v]) if convert else list
        plain = item.to_plain
        self.to_plain = (lambda v: [plain(x) for x in v]) if plain else list
        self.from_avro = (
            (lambda v: container(parse(x) for x in v)) if parse else container
        )

    def owns(self, value: Any) -> bool:
        return isinstance(value, (set, frozenset))

    def validate(self, value: Any, json: bool = False) -> Any:
        if isinstance(value, (set, frozenset, list, tuple)):
            items = _validate_items(self.item, value, json)
            try:
                return self.container(items)
            except TypeError:
                raise self.mismatch(value, "its items are not hashable") from None
        raise self.mismatch(value)

    def schema(self, defined: set[str]) -> Any:
        return {
            "type": "array",
            "items": self.item.schema(defined),
            "logicalType": self.logical,
        }

    def concretize(self, value: Any) -> Any:
        return set[merge_types([self.item.concretize(x) for x in value])]


class ValueObjectSetCodec(SetCodec):
    container = ValueObjectSet
    logical = "value-object-set"

    def owns(self, value: Any) -> bool:
        return isinstance(value, ValueObjectSet)

    def validate(self, value: Any, json: bool = False) -> Any:
        if isinstance(value, ValueObjectSet):
            value = value.data
        return super().validate(value, json)

    def concretize(self, value: Any) -> Any:
        return ValueObjectSet[merge_types([self.item.concretize(x) for x in value])]


class EntitySetCodec(SetCodec):
    container = EntitySet
    logical = "entity-set"

    def owns(self, value: Any) -> bool:
        return isinstance(value, EntitySet)

    def validate(self, value: Any, json: bool = False) -> Any:
        if isinstance(value, EntitySet):
            value = list(value)
        try:
            return super().validate(value, json)
        except AttributeError:
            raise self.mismatch(value, "its items have no uuid") from None

    def concretize(self, value: Any) -> Any:
        return EntitySet[merge_types([self.item.concretize(x) for x in value])]


class DictCodec(Codec):
    """Dicts with string keys. Avro: ``map``."""

    kind = "map"
    rank = RANK_MAP
    decoded_type = dict

    def __init__(self, hint: Any, value: Codec) -> None:
        self.hint = hint
        self.value = value
        self.json_differs = value.json_differs
        convert = value.to_avro
        self.to_avro = (
            (lambda v: {k: convert(x) for k, x in v.items()}) if convert else None
        )
        plain = value.to_plain
        self.to_plain = (
            (lambda v: {k: plain(x) for k, x in v.items()}) if plain else None
        )
        parse = value.from_avro
        self.from_avro = (
            (lambda v: {k: parse(x) for k, x in v.items()}) if parse else None
        )

    def children(self) -> list[Codec]:
        return [self.value]

    def owns(self, value: Any) -> bool:
        return isinstance(value, dict)

    def validate(self, value: Any, json: bool = False) -> Any:
        if not isinstance(value, dict) or isinstance(value, Model):
            raise self.mismatch(value)
        check = self.value.from_json if json else self.value.validate
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                raise Mismatch(self.describe, key, reason="dict keys must be strings")
            if not key.isascii() and not encodable(key):
                raise Mismatch(
                    self.describe, key, reason="the key holds lone surrogates"
                )
            try:
                result[key] = check(item)
            except Mismatch as mismatch:
                raise mismatch.within(f"[{key!r}]") from None
        return result

    def from_json(self, value: Any) -> Any:
        return self.validate(value, True)

    def schema(self, defined: set[str]) -> Any:
        return {"type": "map", "values": self.value.schema(defined)}

    def concretize(self, value: Any) -> Any:
        return dict[
            str, merge_types([self.value.concretize(x) for x in value.values()])
        ]
