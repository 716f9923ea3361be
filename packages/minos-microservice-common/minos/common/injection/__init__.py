"""The dependency-injection container built from service.injections."""

from .exceptions import InjectionException
from .injector import DependencyInjector

__all__ = ["InjectionException", "DependencyInjector"]
