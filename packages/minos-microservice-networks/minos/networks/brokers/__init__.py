"""Brokers that enqueue outgoing messages, the producer that sends them."""

__all__: list[str] = []
