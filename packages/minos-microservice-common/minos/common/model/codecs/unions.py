"""Codecs of ``Optional[...]``, ``Union[...]`` and ``ModelRef[...]``."""

from __future__ import annotations

from typing import Any

from .base import RANK_ARRAY, RANK_MAP, RANK_NAMED, Codec, Mismatch, UnsupportedType

__all__: list[str] = []


def _avro_order(branches: list[Codec]) -> list[Codec]:
    return sorted(branches, key=lambda codec: codec.rank)


def _tags(ordered: list[Codec]) -> dict[int, str | None]:
    """The fastavro tuple-notation tag selecting each branch without validation.

    Named types are selected by full name; other types by their Avro type name,
    which selects the first branch of that type, so only that one gets a tag.
    """
    tags: dict[int, str | None] = {}
    seen: set[str] = set()
    for codec in ordered:
        if codec.name is not None:
            tags[id(codec)] = codec.name
        elif codec.kind not in seen:
            tags[id(codec)] = codec.kind
        else:
            tags[id(codec)] = None
        seen.add(codec.kind)
    return tags


def _untagged(datum: Any) -> Any:
    return datum[1] if type(datum) is tuple else datum


def untag(datum: Any) -> Any:
    """Plain Avro data: drop the union tags written for fastavro's tuple notation."""
    if type(datum) is tuple:
        return untag(datum[1])
    if type(datum) is dict:
        return {key: untag(value) for key, value in datum.items()}
    if type(datum) is list:
        return [untag(value) for value in datum]
    return datum


class OptionalCodec(Codec):
    """``Optional[T]``: ``None`` or a ``T``. Avro: ``["null", T]``, default null."""

    def __init__(self, hint: Any, inner: Codec) -> None:
        self.hint = hint
        self.inner = inner
        self.json_differs = inner.json_differs
        self.rank = inner.rank
        self.kind = inner.kind
        convert = inner.to_avro
        parse = inner.from_avro
        plain = inner.to_plain
        if plain is not None:
            self.to_plain = lambda v: None if v is None else plain(v)
        if isinstance(inner, UnionCodec):
            # Optional[ModelRef[T]]: one flat Avro union, the inner one tags values.
            self.to_avro = lambda v: None if v is None else convert(v)  # type: ignore[misc]
            self.from_avro = lambda v: None if v is None else parse(v)  # type: ignore[misc]
            return
        tag = inner.name or inner.kind
        if convert is None:
            self.to_avro = lambda v: None if v is None else (tag, v)
        else:
            self.to_avro = lambda v: None if v is None else (tag, convert(v))
        if inner.name is not None:
            # Named branches of unions are read as (name, datum) pairs.
            if parse is None:
                self.from_avro = _untagged
            else:
                self.from_avro = lambda v: None if v is None else parse(_untagged(v))
        elif parse is not None:
            self.from_avro = lambda v: None if v is None else parse(v)

    def children(self) -> list[Codec]:
        return [self.inner]

    def owns(self, value: Any) -> bool:
        return value is None or self.inner.owns(value)

    def validate(self, value: Any) -> Any:
        if value is None:
            return None
        inner = self.inner
        if type(value) is inner.exact:
            return value
        try:
            return inner.validate(value)
        except Mismatch as mismatch:
            if mismatch.path or mismatch.inner is not None:
                raise
            raise Mismatch(self.describe, value, reason=mismatch.reason) from None

    def from_json(self, value: Any) -> Any:
        if value is None:
            return None
        return self.inner.from_json(value)

    def schema(self, defined: set[str]) -> Any:
        inner = self.inner.schema(defined)
        return ["null", *inner] if isinstance(inner, list) else ["null", inner]

    def concretize(self, value: Any) -> Any:
        if value is None:
            return type(None)
        return self.inner.concretize(value)


class UnionCodec(Codec):
    """``Union[A, B, ...]``: the first branch, in declared order, that accepts the
    value (``Union[UUID, str]`` turns a UUID string into a UUID, ``Union[str,
    UUID]`` keeps it a string). Avro: a union."""

    def __init__(self, hint: Any, branches: list[Codec]) -> None:
        self.hint = hint
        self.branches = branches
        for rank in (RANK_ARRAY, RANK_MAP):
            if sum(1 for b in branches if b.rank == rank) > 1:
                kinds = "arrays/sets" if rank == RANK_ARRAY else "dicts"
                raise UnsupportedType(
                    f"an Avro union cannot hold two {kinds}: merge them into one "
                    "container of a union instead"
                )
        self.json_differs = any(b.json_differs for b in branches)
        self.ordered = _avro_order(branches)
        self.tags = _tags(self.ordered)
        self.by_name = {b.name: b for b in branches if b.name is not None}
        self.by_decoded: dict[type, Codec] = {}
        for branch in branches:
            decoded = branch.decoded_type
            if decoded is not None and branch.rank != RANK_NAMED:
                self.by_decoded.setdefault(decoded, branch)
        self.records = [b for b in branches if b.kind == "record"]
        self._dispatch: dict[type, Codec] = {}
        self.to_avro = self._to_avro
        self.to_plain = self._to_plain
        self.from_avro = self._from_avro

    def children(self) -> list[Codec]:
        return list(self.branches)

    def owns(self, value: Any) -> bool:
        return any(branch.owns(value) for branch in self.branches)

    def validate(self, value: Any, json: bool = False) -> Any:
        for branch in self.branches:
            try:
                return branch.from_json(value) if json else branch.validate(value)
            except Mismatch:
                continue
        raise self.mismatch(value)

    def from_json(self, value: Any) -> Any:
        return self.validate(value, True)

    def branch_of(self, value: Any) -> Codec:
        """The branch a valid value belongs to (its exact type first)."""
        kind = type(value)
        branch = self._dispatch.get(kind)
        if branch is None:
            for candidate in self.branches:
                if kind is candidate.exact:
                    branch = candidate
                    break
            else:
                for candidate in self.branches:
                    if candidate.owns(value):
                        branch = candidate
                        break
                else:
                    raise Mismatch(self.describe, value)
            self._dispatch[kind] = branch
        return branch

    def _to_avro(self, value: Any) -> Any:
        branch = self.branch_of(value)
        convert = branch.to_avro
        datum = convert(value) if convert is not None else value
        tag = self.tags[id(branch)]
        return datum if tag is None else (tag, datum)

    def _to_plain(self, value: Any) -> Any:
        convert = self.branch_of(value).to_plain
        return convert(value) if convert is not None else value

    def _from_avro(self, datum: Any) -> Any:
        if type(datum) is tuple:
            name, datum = datum
            branch = self.by_name[name]
        else:
            branch = self.by_decoded.get(type(datum))
            if branch is None:
                branch = self._guess(datum)
        parse = branch.from_avro
        return parse(datum) if parse is not None else datum

    def _guess(self, datum: Any) -> Codec:
        """Branch of a datum read without named-type tuples (plain fastavro data)."""
        if isinstance(datum, dict):
            for record in self.records:
                if set(datum) == set(record.field_names()):
                    return record
            if self.records and dict not in self.by_decoded:
                return self.records[0]
        for decoded, branch in self.by_decoded.items():
            if isinstance(datum, decoded):
                return branch
        raise Mismatch(self.describe, datum, reason="no union branch matches the data")

    def schema(self, defined: set[str]) -> Any:
        return [branch.schema(defined) for branch in self.ordered]

    def concretize(self, value: Any) -> Any:
        return self.branch_of(value).concretize(value)
