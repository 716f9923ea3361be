"""Payloads shared by the service and the bare ceiling (standard library only)."""

from __future__ import annotations

__all__ = ["ITEMS_PAGE"]

# What the REST query returns: small, fixed, the same on every side.
ITEMS_PAGE = [
    {"id": index, "name": f"item-{index}", "count": index * 3, "tags": ["a", "b"]}
    for index in range(10)
]
