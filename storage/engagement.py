"""Engagement the bot can observe (reactions, presses, reads) and the popularity it implies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import most_read
from storage.deliveries import story_for_message
from storage.models import Engagement, ReactionCount, Story, StoryEngagement

# How much one signal counts: a reaction is a deliberate act; a read through a list is weaker.
WEIGHTS = {"reaction": 3.0, "press": 2.0, "inline": 2.0, "read": 1.0}
# The first place of a newsroom's own most-read list (a role = "popular" feed): its whole
# audience read it most, which outweighs the few signals one chat sees, so it counts a little
# more than three reactions. Place p counts MOST_READ_POINTS / p: readership falls off roughly in
# proportion to rank (Zipf), so #2 is worth half of #1 and #10 one read. A story in several
# lists gets each list's points.
MOST_READ_POINTS = 10.0
# Half of a story's score fades every this many hours: this morning beats yesterday.
HALF_LIFE_HOURS = 12.0
# /popular decays the leaders by raw points: this many per place asked for.
CANDIDATES_PER_PLACE = 10
# Stories with signals from before the window that one /popular scan carries along.
EARLY_SLACK = 50
# Keeps IN (...) lists well under SQLite's and asyncpg's bound-parameter limits.
CHUNK = 500


async def record(session: AsyncSession, story_id: int, kind: str, at: datetime) -> None:
    session.add(Engagement(story_id=story_id, kind=kind, weight=WEIGHTS.get(kind, 1.0), at=at))


async def record_known(session: AsyncSession, story_id: int, kind: str, at: datetime) -> bool:
    """Record a signal from outside (an inline pick names its story): unknown ids are ignored."""
    if await session.scalar(select(Story.id).where(Story.id == story_id)) is None:
        return False
    await record(session, story_id, kind, at)
    return True


async def record_reads(session: AsyncSession, story_ids: list[int], at: datetime) -> None:
    """One read of each story, in one statement. In id order: each signal updates its
    story's running total (a row lock on PostgreSQL), and two lists locking the same stories
    in the same order cannot deadlock."""
    if not story_ids:
        return
    weight = WEIGHTS["read"]
    rows = [
        {"story_id": story_id, "kind": "read", "weight": weight, "at": at}
        for story_id in sorted(story_ids)
    ]
    await session.execute(insert(Engagement), rows)


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
    """Stories published since `since`, by their signals since `since`, decayed with age.

    The sums come from `story_engagement` (running totals kept by triggers): a story whose
    first signal came at or after `since` has every signal inside the window, so its total is
    its window's sum, read in one row per story published in the window. The rare story with
    signals from before `since` (published after them: a date set ahead by the CMS) has its
    window summed from the signals themselves, so the ranking is the same either way.

    Stories in the window at a place of a most-read list get that place's points on top
    (MOST_READ_POINTS), whether or not anyone engaged with them through the bot, and decay
    with the rest.
    """
    count = limit * CANDIDATES_PER_PLACE
    rows = await _window_totals(session, since, section, count + EARLY_SLACK)
    early = [row for row in rows if row.early]
    if len(early) > EARLY_SLACK:  # more than the one scan could carry: ask for them all
        early = [row for row in await _window_totals(session, since, section) if row.early]
    published = {row.id: row.published_at for row in rows}
    published.update((row.id, row.published_at) for row in early)
    points = {row.id: float(row.points) for row in rows if not row.early}
    points.update(await _points_since(session, [row.id for row in early], since))
    await _add_most_read(session, points, published, since, section)
    # The leaders by raw points (ties: the newer story), then decayed by each one's age.
    leaders = sorted(points.items(), key=lambda item: (-item[1], -item[0]))[:count]
    decayed = {
        story_id: total * 0.5 ** (_age_hours(now, published[story_id]) / HALF_LIFE_HOURS)
        for story_id, total in leaders
    }
    ranked = sorted(decayed, key=lambda story_id: (-decayed[story_id], -story_id))[:limit]
    stories = {
        story.id: story
        for story in (await session.scalars(select(Story).where(Story.id.in_(ranked)))).all()
    }
    return [stories[story_id] for story_id in ranked if story_id in stories]


async def _add_most_read(
    session: AsyncSession,
    points: dict[int, float],
    published: dict[int, datetime],
    since: datetime,
    section: str | None,
) -> None:
    """Add most-read places to `points`. A placed story outside the engagement scan (too few
    signals to be among its leaders) first gets its own window's signals, so its total is
    exact: the list lifts it from where readers put it, not from zero."""
    placed = await most_read.placements(session, since=since, section=section)
    early: set[int] = set()
    for placement in placed:
        story_id = placement.story_id
        if story_id not in points and story_id not in early:
            first = placement.first_signal_at
            if first is not None and first < since:  # rare: its window is summed below
                early.add(story_id)
            else:
                points[story_id] = placement.points
        published[story_id] = placement.published_at
    points.update(await _points_since(session, sorted(early), since))
    for placement in placed:
        bonus = MOST_READ_POINTS / placement.position
        points[placement.story_id] = points.get(placement.story_id, 0.0) + bonus


def _age_hours(now: datetime, published_at: datetime) -> float:
    return (now - published_at).total_seconds() / 3600


async def _window_totals(
    session: AsyncSession, since: datetime, section: str | None, count: int | None = None
) -> list[Any]:
    """Stories published since `since` (of one section) with signals: those with a signal
    from before `since` ("early": their total is not the window's) first, then the rest by
    points (ties: the newer story); up to `count` rows, or only the early ones when None."""
    early = (StoryEngagement.first_signal_at < since).label("early")
    query = (
        select(Story.id, Story.published_at, StoryEngagement.points, early)
        .join(StoryEngagement, StoryEngagement.story_id == Story.id)
        .where(Story.published_at >= since, StoryEngagement.signals > 0)
    )
    if section is not None:
        query = query.where(Story.section == section)
    if count is None:
        query = query.where(StoryEngagement.first_signal_at < since)
    else:
        order = (early.desc(), StoryEngagement.points.desc(), Story.id.desc())
        query = query.order_by(*order).limit(count)
    return list((await session.execute(query)).all())


async def _points_since(
    session: AsyncSession, story_ids: list[int], since: datetime
) -> dict[int, float]:
    """Each story's points from its signals since `since` (stories with none are left out)."""
    found: dict[int, float] = {}
    for start in range(0, len(story_ids), CHUNK):
        chunk = story_ids[start : start + CHUNK]
        events = select(
            Engagement.story_id.label("story_id"), Engagement.weight.label("points")
        ).where(Engagement.at >= since, Engagement.story_id.in_(chunk))
        reactions = select(
            ReactionCount.story_id.label("story_id"),
            (ReactionCount.total * WEIGHTS["reaction"]).label("points"),
        ).where(ReactionCount.updated_at >= since, ReactionCount.story_id.in_(chunk))
        signals = union_all(events, reactions).subquery()
        totals = select(signals.c.story_id, func.sum(signals.c.points)).group_by(signals.c.story_id)
        for story_id, total in (await session.execute(totals)).all():
            found[story_id] = float(total)
    return found
