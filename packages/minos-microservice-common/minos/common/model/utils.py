"""Small helpers shared with the rest of minos."""

from __future__ import annotations

import re

__all__ = ["UUID_REGEX"]

#: Matches a canonical (hyphenated, any case) UUID string.
UUID_REGEX = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
