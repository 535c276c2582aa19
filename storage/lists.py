"""`column IN (values)` that keeps one SQL text whatever the number of values.

asyncpg prepares each distinct SQL text before running it (a round trip to the server, and a
statement kept per text), and SQLAlchemy spells an IN list of n values as n placeholders: a
list of another length is another text, prepared again. On PostgreSQL `= ANY($1)` with one
array parameter is a single text (prepared once per connection); SQLite, which prepares
in-process, keeps IN.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement


def among(session: AsyncSession, column: ColumnElement[Any], values: Collection[Any]) -> Any:
    """The condition `column` is one of `values`, in the form the session's database prepares
    once (see the module)."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(list(values))
    array = bindparam(None, list(values), type_=ARRAY(column.type))
    return column == any_(array)
