"""A chat's delivery history for its admins in the console (issue 24): its last outbox rows,
newest first, each with its outcome and reason in the words of a story's trace
(bot/domain/trace.py `delivery_outcome`), so "why didn't my channel get this?" reads the same
from either side. Queries in storage/chat_history.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.trace import Outcome, delivery_outcome
from storage import chat_history as history_queries
from storage.db import Database
from storage.models import Destination

DEFAULT_LIMIT = 30
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Delivered:
    """One delivery of the chat, as the console lists it."""

    story_id: int | None
    alert_id: int | None
    digest_slot: str | None
    headline: str | None
    status: str
    outcome: Outcome
    reason: str | None
    queued_at: datetime
    sent_at: datetime | None


class ChatHistory:
    def __init__(
        self, database: Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = database
        self._clock = clock

    async def last(self, chat: Destination, limit: int = DEFAULT_LIMIT) -> list[Delivered]:
        """The chat's `limit` (1..MAX_LIMIT) newest deliveries, newest first."""
        async with self._db.sessions() as session:
            rows = await history_queries.history_of(session, chat, limit, self._clock())
        found: list[Delivered] = []
        for row in rows:
            outcome, reason, _ = delivery_outcome(row.facts)
            found.append(
                Delivered(
                    story_id=row.story_id,
                    alert_id=row.alert_id,
                    digest_slot=row.digest_slot,
                    headline=row.headline,
                    status=str(row.facts.facts.status),
                    outcome=outcome,
                    reason=reason,
                    queued_at=row.queued_at,
                    sent_at=row.facts.sent_at,
                )
            )
        return found
