"""Transports that carry messages: Kafka and in-process."""

__all__: list[str] = []
