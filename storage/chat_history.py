"""A chat's last deliveries, newest first: the outbox rows the console's history lists.

Read-only. The rows are found by the chat (the outbox's (destination_id, ...) unique indexes
lead with it) and read newest first by id, at most `limit`; each with what names it (the
story's headline, the breaking news' text, the digest's slot) and the facts
bot/domain/trace.py classifies, so a row's outcome reads as in a story's trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.trace import ChatFacts, Facts
from storage.models import Alert, Delivery, Destination, Story


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One outbox row of a chat, as stored."""

    delivery_id: int
    story_id: int | None
    alert_id: int | None
    digest_slot: str | None
    # The story's headline, the breaking news' text, or None (a digest).
    headline: str | None
    queued_at: datetime
    facts: ChatFacts


async def history_of(
    session: AsyncSession, destination: Destination, limit: int, now: datetime
) -> list[HistoryRow]:
    """The chat's `limit` newest outbox rows (by id), newest first."""
    query = (
        select(
            Delivery,
            Story.title,
            Alert.text,
            and_(Delivery.roundup, Delivery.next_attempt_at > now).label("held"),
        )
        .outerjoin(Story, Story.id == Delivery.story_id)
        .outerjoin(Alert, Alert.id == Delivery.alert_id)
        .where(Delivery.destination_id == destination.id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    rows: list[HistoryRow] = []
    for delivery, title, alert_text, held in (await session.execute(query)).all():
        # How many rows its message carried, recorded when it was sent (NULL: only this one).
        message_rows = delivery.message_rows or 1
        facts = Facts(
            status=str(delivery.status),
            active=destination.active,
            held=bool(held),
            bundled=message_rows > 1,
        )
        rows.append(
            HistoryRow(
                delivery_id=delivery.id,
                story_id=delivery.story_id,
                alert_id=delivery.alert_id,
                digest_slot=delivery.digest_slot,
                headline=title if delivery.story_id is not None else alert_text,
                queued_at=delivery.created_at,
                facts=ChatFacts(
                    chat_id=destination.chat_id,
                    kind=destination.kind,
                    title=destination.title,
                    facts=facts,
                    inactive_reason=destination.inactive_reason,
                    last_error=delivery.last_error,
                    next_attempt_at=delivery.next_attempt_at,
                    sent_at=delivery.sent_at,
                    message_rows=max(message_rows, 1),
                ),
            )
        )
    return rows
