"""What the database knows of where a story went: the facts bot/domain/trace.py classifies.

Read-only. A story's chats are the ones with an outbox row for it, and the subscribers of its
section reading its edition that have none (filtered out, inactive, or given another version
of the story's group): the outbox never records those, so they are read from the chats.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.trace import ChatFacts, StoryFacts
from storage.models import (
    ChannelRule,
    Delivery,
    Destination,
    DestinationEdition,
    Story,
    Subscription,
)

_STORY_COLUMNS = (
    Story.id,
    Story.title,
    Story.section,
    Story.edition,
    Story.published_at,
    Story.pushable,
    Story.fanned_out_at,
)


def _story(row: Any) -> StoryFacts:
    return StoryFacts(
        id=row.id,
        headline=row.title,
        section=row.section,
        edition=row.edition,
        published_at=row.published_at,
        pushable=bool(row.pushable),
        fanned_out_at=row.fanned_out_at,
    )


async def recent_stories(session: AsyncSession, limit: int) -> list[StoryFacts]:
    """The `limit` most recently published stories, newest first (ix_stories_published_at)."""
    query = (
        select(*_STORY_COLUMNS).order_by(Story.published_at.desc(), Story.id.desc()).limit(limit)
    )
    return [_story(row) for row in (await session.execute(query)).all()]


async def story_facts(session: AsyncSession, story_id: int) -> StoryFacts | None:
    row = (await session.execute(select(*_STORY_COLUMNS).where(Story.id == story_id))).first()
    return None if row is None else _story(row)


async def chat_facts(session: AsyncSession, story: StoryFacts) -> list[ChatFacts]:
    """Every chat `story` was meant for: those with an outbox row first, then the
    subscribers without one."""
    return [*await _with_row(session, story.id), *await _without_row(session, story)]


async def _with_row(session: AsyncSession, story_id: int) -> list[ChatFacts]:
    query = (
        select(
            Delivery.id,
            Destination.chat_id,
            Destination.kind,
            Destination.title,
            Destination.active,
            Destination.inactive_reason,
            ChannelRule.filtered,
            Delivery.status,
            Delivery.last_error,
            Delivery.roundup,
            Delivery.next_attempt_at,
            Delivery.sent_at,
        )
        .join(Destination, Destination.id == Delivery.destination_id)
        .outerjoin(ChannelRule, ChannelRule.destination_id == Destination.id)
        .where(Delivery.story_id == story_id)
        .order_by(Delivery.id)
    )
    rows = (await session.execute(query)).all()
    shared = await _message_rows(session, story_id) if rows else {}
    return [
        ChatFacts(
            chat_id=row.chat_id,
            kind=row.kind,
            title=row.title,
            active=bool(row.active),
            inactive_reason=row.inactive_reason,
            filtered=bool(row.filtered),
            status=str(row.status),
            last_error=row.last_error,
            roundup=bool(row.roundup),
            next_attempt_at=row.next_attempt_at,
            sent_at=row.sent_at,
            message_rows=shared.get(row.id, 1),
        )
        for row in rows
    ]


async def _message_rows(session: AsyncSession, story_id: int) -> dict[int, int]:
    """{delivery id: outbox rows sharing its message} for the story's sent rows whose
    message carried more than this story (a bundle or a roundup share one message id)."""
    other = aliased(Delivery)
    query = (
        select(Delivery.id, func.count(other.id))
        .join(
            other,
            and_(other.chat_id == Delivery.chat_id, other.message_id == Delivery.message_id),
        )
        .where(Delivery.story_id == story_id, Delivery.message_id.is_not(None))
        .group_by(Delivery.id)
    )
    return {delivery_id: int(count) for delivery_id, count in (await session.execute(query)).all()}


async def _without_row(session: AsyncSession, story: StoryFacts) -> list[ChatFacts]:
    """Subscribers of the story's section reading its edition (active or not) with no
    outbox row for it, and the version of its group each got instead, if any."""
    if story.section is None:
        return []
    group_id = await session.scalar(select(Story.group_id).where(Story.id == story.id))
    other = aliased(Delivery)
    query = (
        select(
            Destination.chat_id,
            Destination.kind,
            Destination.title,
            Destination.active,
            Destination.inactive_reason,
            ChannelRule.filtered,
            other.story_id,
        )
        .join(Subscription, Subscription.destination_id == Destination.id)
        .outerjoin(ChannelRule, ChannelRule.destination_id == Destination.id)
        .outerjoin(
            other,
            and_(
                other.destination_id == Destination.id,
                other.group_id == (group_id if group_id is not None else story.id),
                other.story_id != story.id,
            ),
        )
        .where(
            Subscription.section == story.section,
            Destination.id.not_in(
                select(Delivery.destination_id).where(Delivery.story_id == story.id)
            ),
        )
        .order_by(Destination.id)
    )
    if story.edition is not None:
        query = query.where(
            Destination.id.in_(
                select(DestinationEdition.destination_id).where(
                    DestinationEdition.edition == story.edition
                )
            )
        )
    return [
        ChatFacts(
            chat_id=row.chat_id,
            kind=row.kind,
            title=row.title,
            active=bool(row.active),
            inactive_reason=row.inactive_reason,
            filtered=bool(row.filtered),
            other_version=row.story_id,
        )
        for row in (await session.execute(query)).all()
    ]
