"""Errors of the dependency-injection container."""

from __future__ import annotations

from ..exceptions import MinosException

__all__ = ["InjectionException"]


class InjectionException(MinosException):
    """An injection could not be resolved, built, set up or wired."""
