"""Periodic tasks: ``enroute.periodic.event`` handlers run on their schedules."""

from .schedulers import *
from .schedules import *
