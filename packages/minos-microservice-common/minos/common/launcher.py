"""Starting and stopping a microservice."""

__all__: list[str] = []
