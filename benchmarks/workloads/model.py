"""Model workloads: build, validate and serialize a nested model.

The framework sides run the same code (the seed's model API); the ceilings
do the same work with fastavro alone and with pydantic v2.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from ..measure import Unavailable, loop_args, timed_sync_loop

__all__ = [
    "avro_ceiling",
    "avro_ours",
    "avro_peer",
    "validate_ceiling",
    "validate_ours",
    "validate_peer",
]

_IDS = [uuid.UUID(int=index * 7919 + 1) for index in range(64)]


def _payload(index: int) -> dict[str, Any]:
    """One customer as JSON would carry it: nested dicts, a UUID as text."""
    return {
        "id": str(_IDS[index % len(_IDS)]),
        "name": f"customer-{index}",
        "age": 20 + index % 50,
        "score": 0.5 + index % 10,
        "active": index % 2 == 0,
        "tags": ["gold", "newsletter", f"cohort-{index % 5}"],
        "address": {
            "street": "Main Street 1",
            "city": "Springfield",
            "zip_code": 12345,
        },
        "contacts": [
            {"kind": "mail", "value": f"c{index}@example.org"},
            {"kind": "phone", "value": "+34 600 000 000"},
        ],
        "nickname": None if index % 3 else "ace",
    }


def _customer_cls() -> Any:
    try:
        from ..app.models import Customer
    except ImportError as exc:
        raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
    return Customer


def _framework_avro(params: dict[str, Any]) -> dict[str, Any]:
    from ..app.models import Address, Contact

    customer_cls = _customer_cls()

    def operation(index: int) -> None:
        data = _payload(index)
        model = customer_cls(
            id=_IDS[index % len(_IDS)],
            name=data["name"],
            age=data["age"],
            score=data["score"],
            active=data["active"],
            tags=data["tags"],
            address=Address(**data["address"]),
            contacts=[Contact(**contact) for contact in data["contacts"]],
            nickname=data["nickname"],
        )
        decoded = customer_cls.from_avro_bytes(model.avro_bytes)
        if index < 3 and decoded != model:
            raise AssertionError(f"Avro round trip changed the model: {decoded!r}")

    return timed_sync_loop(operation, **loop_args(params))


avro_ours = _framework_avro
avro_peer = _framework_avro

_AVRO_SCHEMA = {
    "type": "record",
    "name": "Customer",
    "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "name", "type": "string"},
        {"name": "age", "type": "long"},
        {"name": "score", "type": "double"},
        {"name": "active", "type": "boolean"},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [
                    {"name": "street", "type": "string"},
                    {"name": "city", "type": "string"},
                    {"name": "zip_code", "type": "long"},
                ],
            },
        },
        {
            "name": "contacts",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Contact",
                    "fields": [
                        {"name": "kind", "type": "string"},
                        {"name": "value", "type": "string"},
                    ],
                },
            },
        },
        {"name": "nickname", "type": ["null", "string"]},
    ],
}


def avro_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    """fastavro alone: a parsed schema, schemaless write and read of a dict."""
    import fastavro

    schema = fastavro.parse_schema(_AVRO_SCHEMA)

    def operation(index: int) -> None:
        record = _payload(index)
        record["id"] = _IDS[index % len(_IDS)]
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, schema, record)
        buffer.seek(0)
        decoded = fastavro.schemaless_reader(buffer, schema)
        if index < 3 and decoded["contacts"] != record["contacts"]:
            raise AssertionError("fastavro round trip changed the record")

    return timed_sync_loop(operation, **loop_args(params))


def _framework_validate(params: dict[str, Any]) -> dict[str, Any]:
    customer_cls = _customer_cls()

    def operation(index: int) -> None:
        data = _payload(index)
        dumped = customer_cls(**data).avro_data
        if index < 3 and dumped["address"] != data["address"]:
            raise AssertionError(f"the model changed its input: {dumped!r}")

    return timed_sync_loop(operation, **loop_args(params))


validate_ours = _framework_validate
validate_peer = _framework_validate


def validate_ceiling(params: dict[str, Any]) -> dict[str, Any]:
    """pydantic v2: ``model_validate`` then ``model_dump(mode="json")``."""
    from ..app.pydantic_models import PydanticCustomer

    def operation(index: int) -> None:
        data = _payload(index)
        dumped = PydanticCustomer.model_validate(data).model_dump(mode="json")
        if index < 3 and dumped["address"] != data["address"]:
            raise AssertionError(f"pydantic changed its input: {dumped!r}")

    return timed_sync_loop(operation, **loop_args(params))
