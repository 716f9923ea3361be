"""The config.yml of a microservice."""

from .config import MinosConfig
from .sections import ConfigSection, MissingConfigSection

__all__ = ["MinosConfig", "ConfigSection", "MissingConfigSection"]
