"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike.

    SQLite has no time zones and hands back naive values; storing naive UTC everywhere and
    re-attaching UTC on the way out keeps comparisons and ordering identical on both stores.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


State = TypeVar("State", bound=StrEnum)


class StateType(TypeDecorator[State], Generic[State]):
    """A `StrEnum` stored as its text: members in, members out (VARCHAR in the schema)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[State], length: int = 16) -> None:
        super().__init__(length)
        self._enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self._enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> State | None:
        return None if value is None else self._enum(value)
