"""Typed models: declaration, validation, Avro and JSON serialization.

Declaring: ``class Book(Entity): title: str; authors: list[Author]``. Fields are
the class annotations (``from __future__ import annotations`` and references
to classes defined later in the module work); names starting with ``_`` and
``ClassVar`` annotations are not fields. Positional arguments follow
declaration order, skipping keyword-only fields (``field(kw_only=True)``, as
``Entity.uuid``). Class-level values are defaults, ``Optional`` fields default
to ``None``, mutable defaults (containers, sets, non-frozen models) are copied
per instance (deeply when they hold mutable values). Field names cannot hide a
model member (``keys``, ``fields``, ``to_json``, ``avro_bytes``...); ``items``
and ``values`` are allowed and replace those mapping methods on their models.

Validation converts what a user means and refuses the rest, naming the model,
field, expected type and given value: an ``int`` where ``float`` is declared;
a string holding a UUID for ``UUID`` and ``ModelRef``; a mapping for a nested
model; ISO 8601 strings for ``datetime``, ``date`` and ``time``; numbers
(seconds) or ISO 8601 durations for ``timedelta``; ``int``/``str`` for
``Decimal``; an enum value for an ``Enum``. Datetimes are held timezone-aware
in UTC (naive ones are taken as UTC). ``Union`` takes the first branch, in
declared order, that accepts the value.

``parse_<field>``/``validate_<field>`` hooks also run on values decoded from Avro
bytes. Avro (``avro_bytes``, ``encode_value``): the bytes carry the writer schema, so
they are readable after the model gains fields with defaults, and classes are
found again by their Avro name (module and qualified name). ``Decimal`` is
written with the ``big-decimal`` logical type (any scale, exact), ``timedelta``
as ``long`` microseconds (``timedelta-micros``), sets as arrays. Bytes from
outside are bounded before they are read (``serializers/limits.py``): recursive
writer schemas only for recursive local models, limited nesting and zero-byte
array items; every failure is a ``MinosSerializationException``.

JSON (``to_json_data``, ``json_dumps``, ``Model.from_json``): UUIDs, datetimes,
durations (ISO 8601) and decimals are strings, bytes base64, sets lists, enums
their values, models objects of their fields.
"""

from . import (
    abc,
    declarative,
    dynamic,
    entities,
    exceptions,
    fields,
    serializers,
    types,
    utils,
)
from .abc import *
from .codecs import *
from .declarative import *
from .dynamic import *
from .entities import *
from .exceptions import *
from .fields import *
from .serializers import *
from .types import *
from .utils import *

__all__ = [
    *abc.__all__,
    *declarative.__all__,
    *dynamic.__all__,
    *entities.__all__,
    *exceptions.__all__,
    *fields.__all__,
    *serializers.__all__,
    *types.__all__,
    *utils.__all__,
]
