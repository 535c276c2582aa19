"""Engagement the bot can observe (reactions, presses, reads) and the popularity it implies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.deliveries import story_for_message
from storage.models import Engagement, ReactionCount, Story

# How much one signal counts: a reaction is a deliberate act; a read through a list is weaker.
WEIGHTS = {"reaction": 3.0, "press": 2.0, "inline": 2.0, "read": 1.0}
# Half of a story's score fades every this many hours: this morning beats yesterday.
HALF_LIFE_HOURS = 12.0


async def record(session: AsyncSession, story_id: int, kind: str, at: datetime) -> None:
    session.add(Engagement(story_id=story_id, kind=kind, weight=WEIGHTS.get(kind, 1.0), at=at))


async def record_known(session: AsyncSession, story_id: int, kind: str, at: datetime) -> bool:
    """Record a signal from outside (an inline pick names its story): unknown ids are ignored."""
    if await session.scalar(select(Story.id).where(Story.id == story_id)) is None:
        return False
    await record(session, story_id, kind, at)
    return True


async def record_reads(session: AsyncSession, story_ids: list[int], at: datetime) -> None:
    for story_id in story_ids:
        await record(session, story_id, "read", at)


async def set_reaction_total(
    session: AsyncSession, chat_id: int, message_id: int, total: int, now: datetime
) -> int | None:
    """Telegram reports a post's reaction totals, not deltas: keep the latest per post."""
    story_id = await story_for_message(session, chat_id, message_id)
    if story_id is None:
        return None
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(ReactionCount).values(
        chat_id=chat_id, message_id=message_id, story_id=story_id, total=total, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["chat_id", "message_id"],
        set_={"total": total, "updated_at": now},
    )
    await session.execute(statement)
    return story_id


async def popular(
    session: AsyncSession,
    *,
    since: datetime,
    now: datetime,
    limit: int,
    section: str | None = None,
) -> list[Story]:
    """Stories published since `since`, by engagement decayed with the story's age."""
    events = select(Engagement.story_id.label("story_id"), Engagement.weight.label("points")).where(
        Engagement.at >= since
    )
    reactions = select(
        ReactionCount.story_id.label("story_id"),
        (ReactionCount.total * WEIGHTS["reaction"]).label("points"),
    ).where(ReactionCount.updated_at >= since)
    signals = union_all(events, reactions).subquery()
    # Sum per story first (an index range of today's signals), then fetch only the leaders.
    totals = (
        select(signals.c.story_id, func.sum(signals.c.points).label("points"))
        .group_by(signals.c.story_id)
        .subquery()
    )
    raw = (
        select(Story, totals.c.points)
        .join(totals, totals.c.story_id == Story.id)
        .where(Story.published_at >= since)
        .order_by(totals.c.points.desc(), Story.id.desc())
        .limit(limit * 10)
    )
    if section is not None:
        raw = raw.where(Story.section == section)
    scored = [
        (
            points * 0.5 ** ((now - story.published_at).total_seconds() / 3600 / HALF_LIFE_HOURS),
            story,
        )
        for story, points in (await session.execute(raw)).all()
    ]
    scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
    return [story for _, story in scored[:limit]]
