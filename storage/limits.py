"""How much each text column holds, read from the models: one source for every check.

PostgreSQL refuses a value longer than its VARCHAR (the whole statement fails); SQLite
stores it anyway. Values are checked against these limits where they come in (feeds, the
CMS), so both backends keep the same stories.
"""

from __future__ import annotations

from typing import Any


def max_length(attribute: Any) -> int | None:
    """The most characters a mapped column (`Story.link`) holds; None: no limit (TEXT)."""
    column = attribute.property.columns[0]
    return getattr(column.type, "length", None)


def fits(attribute: Any, value: str | None) -> bool:
    """Whether `value` can be stored in the column as it is (None always can)."""
    limit = max_length(attribute)
    return value is None or limit is None or len(value) <= limit
