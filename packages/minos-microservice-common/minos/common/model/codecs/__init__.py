"""Per-type validation and Avro conversion, compiled once per declared type."""

from .compiler import codec_for

__all__: list[str] = []
