"""Errors raised while building, validating and (de)serializing models."""

from __future__ import annotations

from typing import Any

from ..exceptions import MinosException

__all__ = [
    "MinosModelException",
    "MinosModelAttributeException",
    "MinosTypeAttributeException",
    "MinosReqAttributeException",
    "MinosAttributeValidationException",
    "MinosParseAttributeException",
    "MinosMalformedAttributeException",
    "MinosImmutableAttributeException",
    "EmptyMinosModelSequenceException",
    "MultiTypeMinosModelSequenceException",
    "MinosSerializationException",
]


def describe_value(value: Any) -> str:
    """Render a given value for an error message, shortened when huge."""
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{text} ({type(value).__name__})"


class MinosModelException(MinosException):
    """Base of every model error."""


class MinosModelAttributeException(MinosModelException):
    """A field of a model received something it cannot hold.

    ``model`` and ``field`` name where it happened; ``path`` locates the offending
    item inside containers and nested models (``"[0].name"``).
    """

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        field: str | None = None,
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.model = model
        self.field = field
        self.path = path

    def nested(self, model: str, field: str, path: str) -> MinosModelAttributeException:
        """Return a copy of this error located inside ``model.field<path>``."""
        inner = self.message
        error = type(self).__new__(type(self))
        MinosModelAttributeException.__init__(
            error,
            f"{model}.{field}{path} -> {inner}",
            model=model,
            field=field,
            path=f"{path}.{self.field}{self.path}" if self.field else path,
        )
        return error


class MinosTypeAttributeException(MinosModelAttributeException):
    """A value does not have (and cannot be converted to) the declared type."""


class MinosReqAttributeException(MinosModelAttributeException):
    """A required field was not given."""


class MinosAttributeValidationException(MinosModelAttributeException):
    """A ``validate_<field>`` hook rejected the value."""


class MinosParseAttributeException(MinosModelAttributeException):
    """A ``parse_<field>`` hook failed."""


class MinosMalformedAttributeException(MinosModelAttributeException):
    """A field name or a declared field type is not acceptable."""


class MinosImmutableAttributeException(MinosModelAttributeException, AttributeError):
    """An attribute of an immutable model (a value object) was assigned or deleted."""


class EmptyMinosModelSequenceException(MinosModelException):
    """A sequence of models was expected to hold at least one model."""


class MultiTypeMinosModelSequenceException(MinosModelException):
    """A sequence of models mixes models of different types."""


class MinosSerializationException(MinosModelException):
    """A value cannot be encoded, or bytes cannot be decoded, as minos Avro or JSON."""
