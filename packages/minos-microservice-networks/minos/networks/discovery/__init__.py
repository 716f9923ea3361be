"""Registration with a discovery service, so gateways can route to this service."""

from .clients import *
from .connectors import *
