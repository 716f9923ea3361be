"""The dependency-injection container built from service.injections."""

__all__: list[str] = []
