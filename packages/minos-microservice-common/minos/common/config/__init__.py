"""The config.yml of a microservice."""

__all__: list[str] = []
