"""Database access: PostgreSQL and SQLite behind one small async interface."""

from .abc import *
from .clients import *
from .postgresql import *
from .sqlite import *
