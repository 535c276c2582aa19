"""Messages the bot sent, as the outbox recorded them: the story a message carries, and the
copies whose story was corrected at the source since (bot/delivery/corrections.py edits them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.channel_rules import DEFAULT_FORMAT, DeskFormat
from bot.domain.outbox import chat_ref
from storage.channel_rules import FORMAT_COLUMNS, format_of
from storage.models import ChannelRule, Delivery, Destination, Story
from storage.states import DeliveryStatus


async def story_for_message(session: AsyncSession, chat_id: int, message_id: int) -> int | None:
    """The story a message the bot sent carries (for reactions and button presses)."""
    query = select(Delivery.story_id).where(
        and_(Delivery.chat_id == chat_id, Delivery.message_id == message_id)
    )
    return await session.scalar(query)


@dataclass(frozen=True, slots=True)
class StaleCopy:
    """A sent message whose story was corrected at the source since it was sent."""

    delivery_id: int
    chat_id: int
    chat_kind: str
    message_id: int
    story_id: int
    language: str | None
    content_hash: str
    # Approved at the desk: a correction keeps the editor's headline for this chat.
    approval_id: int | None = None
    # The chat's format, so the edit looks like the message it corrects (see DeliveryJob).
    look: DeskFormat = DEFAULT_FORMAT
    chat_ref: str = ""


async def stale_copies(session: AsyncSession, since: datetime, limit: int) -> list[StaleCopy]:
    """Sent story messages (sent after `since`) that differ from their story as it is now."""
    query = (
        select(
            Delivery.id,
            Delivery.chat_id,
            Destination.kind,
            Delivery.message_id,
            Delivery.story_id,
            Destination.language,
            Story.content_hash,
            Delivery.approval_id,
            *FORMAT_COLUMNS,
            ChannelRule.config_ref,
        )
        .join(Story, Story.id == Delivery.story_id)
        .join(Destination, Destination.id == Delivery.destination_id)
        .outerjoin(ChannelRule, ChannelRule.destination_id == Delivery.destination_id)
        .where(
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= since,
            Delivery.message_id.is_not(None),
            Delivery.content_hash.is_not(None),
            Delivery.content_hash != Story.content_hash,
            Destination.active.is_(True),
        )
        .order_by(Delivery.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return [
        StaleCopy(
            *row[:7],
            approval_id=row.approval_id,
            look=format_of(row),
            chat_ref=chat_ref(row.config_ref, row.chat_id),
        )
        for row in rows
    ]


async def mark_edited(session: AsyncSession, delivery_id: int, content_hash: str) -> None:
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(content_hash=content_hash)
    )
