"""Property tests: random nested model types and values survive Avro and JSON."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Optional, Union
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minos.common import ModelType, decode_value, encode_value

_names = itertools.count()

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
DATETIMES = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)
).map(lambda moment: moment.replace(tzinfo=UTC))

SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    int: st.integers(-(2**63), 2**63 - 1),
    float: st.floats(allow_nan=False, allow_infinity=False),
    str: TEXT,
    bool: st.booleans(),
    bytes: st.binary(max_size=12),
    UUID: st.uuids(),
    datetime: DATETIMES,
    date: st.dates(),
    time: st.times(),
    timedelta: st.timedeltas(
        min_value=timedelta(days=-(10**6)), max_value=timedelta(days=10**6)
    ),
    Decimal: st.decimals(allow_nan=False, allow_infinity=False, places=None),
}
HASHABLE = [int, str, UUID, date]


def _extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        inner.map(lambda hint: list[hint]),  # type: ignore[valid-type]
        inner.map(lambda hint: dict[str, hint]),  # type: ignore[valid-type]
        inner.map(lambda hint: Optional[hint]),  # noqa: UP045
        st.lists(inner, min_size=1, max_size=4).map(_model_type),
    )


def _model_type(hints: list[Any]) -> Any:
    fields = {f"f{index}": hint for index, hint in enumerate(hints)}
    return ModelType.build(f"Random{next(_names)}", fields)


def model_types(json: bool) -> st.SearchStrategy[Any]:
    """Random model types; for JSON, without unions JSON cannot tell apart
    (``Union[str, UUID]``: a UUID is written as a string)."""
    leaves = [
        st.sampled_from(list(SCALARS)),
        st.sampled_from(HASHABLE).map(lambda hint: set[hint]),  # type: ignore[valid-type]
        st.just(Union[int, str]),  # noqa: UP007
    ]
    if not json:
        leaves.append(st.just(Union[str, UUID]))  # noqa: UP007
    field_types = st.recursive(st.one_of(leaves), _extend, max_leaves=6)
    return st.lists(field_types, min_size=1, max_size=5).map(_model_type)


def values_of(hint: Any) -> st.SearchStrategy[Any]:
    """Valid values of a type hint."""
    if hint in SCALARS:
        return SCALARS[hint]
    if isinstance(hint, ModelType):
        fields = hint.field_types()
        return st.fixed_dictionaries(
            {name: values_of(kind) for name, kind in fields.items()}
        ).map(lambda values: hint(**values))
    origin = getattr(hint, "__origin__", None)
    args = getattr(hint, "__args__", ())
    if origin is list:
        return st.lists(values_of(args[0]), max_size=3)
    if origin is set:
        return st.sets(values_of(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(TEXT, values_of(args[1]), max_size=3)
    if origin is Union:
        return st.one_of([values_of(arg) for arg in args])
    if hint is type(None):
        return st.none()
    raise AssertionError(f"no strategy for {hint!r}")


MODELS = model_types(json=False).flatmap(values_of)
JSON_MODELS = model_types(json=True).flatmap(values_of)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(MODELS)
def test_avro_round_trip(model: Any) -> None:
    data = model.avro_bytes
    assert type(model).from_avro_bytes(data) == model
    assert decode_value(data) == model


@SETTINGS
@given(JSON_MODELS)
def test_json_round_trip(model: Any) -> None:
    assert type(model).from_json(model.to_json()) == model


@SETTINGS
@given(st.lists(MODELS, max_size=3))
def test_generic_codec_round_trip(models: list[Any]) -> None:
    value = {"models": models, "count": len(models)}
    assert decode_value(encode_value(value)) == value
