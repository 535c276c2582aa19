"""What the database knows of where a story went: the facts bot/domain/trace.py classifies.

Read-only. A story's chats are the ones with an outbox row for it, and the subscribers of its
section reading its edition that have none (filtered out, inactive, or given another version
of the story's group): the outbox never records those, so they are read from the chats.

A story may be meant for 100k chats, so nothing here reads one row per chat: `fact_counts`
counts the chats by their `Facts` (GROUP BY), and `fact_samples` reads at most `per_group`
chats of each facts group (a window function), enough for any listing of that many.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.trace import ChatFacts, Facts, StoryFacts
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
# The facts columns of both sides, in Facts' order.
_FACTS = ("status", "active", "filtered", "held", "bundled", "other_version")


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


def _facts(row: Any) -> Facts:
    return Facts(
        status=None if row.status is None else str(row.status),
        active=bool(row.active),
        filtered=bool(row.filtered),
        held=bool(row.held),
        bundled=bool(row.bundled),
        other_version=bool(row.other_version),
    )


async def fact_counts(session: AsyncSession, story: StoryFacts, now: datetime) -> dict[Facts, int]:
    """How many chats `story` was meant for, by their facts."""
    counts: dict[Facts, int] = {}
    for side in await _sides(session, story, now):
        facts = side.subquery()
        columns = [facts.c[name] for name in _FACTS]
        query = select(*columns, func.count().label("chats")).group_by(*columns)
        for row in (await session.execute(query)).all():
            key = _facts(row)
            counts[key] = counts.get(key, 0) + int(row.chats)
    return counts


async def fact_samples(
    session: AsyncSession, story: StoryFacts, now: datetime, per_group: int
) -> list[ChatFacts]:
    """At most `per_group` chats of each facts group, oldest outbox row (or chat) first."""
    samples: list[ChatFacts] = []
    for side in await _sides(session, story, now):
        inner = side.subquery()
        columns = [inner.c[name] for name in _FACTS]
        ranked = select(
            inner,
            func.row_number().over(partition_by=columns, order_by=inner.c.ordinal).label("rank"),
        ).subquery()
        query = select(ranked).where(ranked.c.rank <= per_group).order_by(ranked.c.ordinal)
        rows = (await session.execute(query)).all()
        shared = await _message_rows(session, [row.delivery_id for row in rows if row.bundled])
        samples.extend(
            ChatFacts(
                chat_id=row.chat_id,
                kind=row.kind,
                title=row.title,
                facts=_facts(row),
                inactive_reason=row.inactive_reason,
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                sent_at=row.sent_at,
                message_rows=shared.get(row.delivery_id, 1),
                other_version=row.other_story_id,
            )
            for row in rows
        )
    return samples


async def _sides(session: AsyncSession, story: StoryFacts, now: datetime) -> list[Select[Any]]:
    """One row per chat, with its facts and details: the chats with an outbox row, then
    the subscribers without one."""
    with_row = _with_row(story.id, now)
    if story.section is None:
        return [with_row]
    group_id = await session.scalar(select(Story.group_id).where(Story.id == story.id))
    return [with_row, _without_row(story, story.id if group_id is None else group_id)]


def _with_row(story_id: int, now: datetime) -> Select[Any]:
    other = aliased(Delivery)
    shares_message = exists().where(
        other.chat_id == Delivery.chat_id,
        other.message_id == Delivery.message_id,
        other.id != Delivery.id,
    )
    return (
        select(
            Delivery.id.label("ordinal"),
            Delivery.id.label("delivery_id"),
            Delivery.status.label("status"),
            Destination.active.label("active"),
            func.coalesce(ChannelRule.filtered, false()).label("filtered"),
            and_(Delivery.roundup, Delivery.next_attempt_at > now).label("held"),
            and_(Delivery.message_id.is_not(None), shares_message).label("bundled"),
            false().label("other_version"),
            Destination.chat_id,
            Destination.kind,
            Destination.title,
            Destination.inactive_reason,
            Delivery.last_error,
            Delivery.next_attempt_at,
            Delivery.sent_at,
            literal(None, Delivery.story_id.type).label("other_story_id"),
        )
        .join(Destination, Destination.id == Delivery.destination_id)
        .outerjoin(ChannelRule, ChannelRule.destination_id == Destination.id)
        .where(Delivery.story_id == story_id)
    )


def _without_row(story: StoryFacts, group_id: int) -> Select[Any]:
    """Subscribers of the story's section reading its edition (active or not) with no
    outbox row for it, and the version of its group each got instead, if any."""
    other = aliased(Delivery)
    query = (
        select(
            Destination.id.label("ordinal"),
            literal(None, Delivery.id.type).label("delivery_id"),
            literal(None, Delivery.status.type).label("status"),
            Destination.active.label("active"),
            func.coalesce(ChannelRule.filtered, false()).label("filtered"),
            false().label("held"),
            false().label("bundled"),
            other.id.is_not(None).label("other_version"),
            Destination.chat_id,
            Destination.kind,
            Destination.title,
            Destination.inactive_reason,
            literal(None, Delivery.last_error.type).label("last_error"),
            literal(None, Delivery.next_attempt_at.type).label("next_attempt_at"),
            literal(None, Delivery.sent_at.type).label("sent_at"),
            other.story_id.label("other_story_id"),
        )
        .join(Subscription, Subscription.destination_id == Destination.id)
        .outerjoin(ChannelRule, ChannelRule.destination_id == Destination.id)
        .outerjoin(
            other,
            and_(
                other.destination_id == Destination.id,
                other.group_id == group_id,
                other.story_id != story.id,
            ),
        )
        .where(
            Subscription.section == story.section,
            Destination.id.not_in(
                select(Delivery.destination_id).where(Delivery.story_id == story.id)
            ),
        )
    )
    if story.edition is not None:
        readers = select(DestinationEdition.destination_id).where(
            DestinationEdition.edition == story.edition
        )
        query = query.where(Destination.id.in_(readers))
    return query


async def _message_rows(session: AsyncSession, delivery_ids: Sequence[int]) -> dict[int, int]:
    """{delivery id: outbox rows sharing its message} for these sent rows."""
    if not delivery_ids:
        return {}
    other = aliased(Delivery)
    query = (
        select(Delivery.id, func.count(other.id))
        .join(
            other,
            and_(other.chat_id == Delivery.chat_id, other.message_id == Delivery.message_id),
        )
        .where(Delivery.id.in_(list(delivery_ids)))
        .group_by(Delivery.id)
    )
    return {delivery_id: int(count) for delivery_id, count in (await session.execute(query)).all()}
