"""A newsroom's own "most read" lists (feeds with role = "popular"): kept, and matched to stories.

A most-read feed is the newsroom's word on what its whole audience reads, which the bot cannot
see. Its items are not stories to store (they would be pushed again); only their order is kept,
one row per place, and /popular (storage/engagement.py) turns each place into points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, delete, insert, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feed, MostReadRank, Story, StoryEngagement

# A feed listing more than this is not a "most read" list; the rest would only cost time.
MAX_PLACES = 100


class RankedItem(Protocol):
    """What keeping a place needs from a normalised entry (bot.feeds.normalize.StoryDraft):
    the same canonical link and identity a stored story has, so the two can be matched."""

    identity: str
    link: str | None


@dataclass(frozen=True, slots=True)
class Placement:
    """A stored story at one place of one feed's most-read list, with its running engagement
    total (storage/engagement.py needs it for placed stories its own scan left out)."""

    story_id: int
    group_id: int  # the story's version group: its places count for the group
    published_at: datetime
    feed_id: int
    position: int
    points: float  # 0.0: no signals
    first_signal_at: datetime | None


def _distinct(items: Iterable[RankedItem]) -> list[RankedItem]:
    """The list in order, a repeated story (same identity or link) kept at its first place."""
    seen: set[str] = set()
    kept: list[RankedItem] = []
    for item in items:
        keys = {item.identity, item.link} if item.link else {item.identity}
        if keys & seen:
            continue
        seen |= keys
        kept.append(item)
        if len(kept) == MAX_PLACES:
            break
    return kept


async def replace_list(
    session: AsyncSession, feed_id: int, items: Sequence[RankedItem], observed_at: datetime
) -> int:
    """Make `items` (best first) the feed's list, in the caller's transaction; return its
    length. An empty list changes nothing: a feed that briefly lists nothing (a deploy, a cache
    miss at the newsroom) should not wipe its order from /popular."""
    kept = _distinct(items)
    if not kept:
        return 0
    # Two replacements of one list at once (`newsbot poll` beside a running bot, on
    # PostgreSQL) would each delete the old rows and then collide inserting theirs: the feed
    # row's lock makes the second wait and replace the first's list whole. (SQLite has one
    # writer at a time already; FOR UPDATE is left out there.)
    await session.execute(select(Feed.id).where(Feed.id == feed_id).with_for_update())
    await session.execute(delete(MostReadRank).where(MostReadRank.feed_id == feed_id))
    rows = [
        {
            "feed_id": feed_id,
            "position": position,
            "link": item.link,
            "identity": item.identity,
            "observed_at": observed_at,
        }
        for position, item in enumerate(kept, start=1)
    ]
    await session.execute(insert(MostReadRank), rows)
    return len(kept)


async def current_list(session: AsyncSession, feed_id: int) -> list[MostReadRank]:
    """The feed's kept list, best first."""
    query = (
        select(MostReadRank).where(MostReadRank.feed_id == feed_id).order_by(MostReadRank.position)
    )
    return list((await session.scalars(query)).all())


async def placements(
    session: AsyncSession, *, since: datetime, section: str | None = None
) -> list[Placement]:
    """Stored stories published since `since` (of one section) at a place in the list of an
    enabled most-read feed, each at its best place per feed.

    An item matches the story with its canonical link or, failing that, its identity (a
    permalink guid): one lookup in the stories' unique indexes per kept place (and one in
    story_engagement's key), so the cost follows the lists' length (a few hundred rows), not
    the number of stories. The window and section are checked here rather than in SQL: given
    a section, SQLite's planner (no statistics on this small table) would walk the section's
    stories instead, and probe the lists for each one.
    """
    by_link = _matched(Story.link == MostReadRank.link)
    by_identity = _matched(Story.identity == MostReadRank.identity)
    best: dict[tuple[int, int], Placement] = {}
    for row in (await session.execute(union_all(by_link, by_identity))).all():
        if row.published_at < since or (section is not None and row.section != section):
            continue
        key = (row.story_id, row.feed_id)
        if key in best and best[key].position <= row.position:
            continue
        signalled = bool(row.signals)
        best[key] = Placement(
            story_id=row.story_id,
            group_id=row.group_id if row.group_id is not None else row.story_id,
            published_at=row.published_at,
            feed_id=row.feed_id,
            position=row.position,
            points=float(row.points) if signalled else 0.0,
            first_signal_at=row.first_signal_at if signalled else None,
        )
    return list(best.values())


def _matched(condition: ColumnElement[bool]) -> Select[Any]:
    """The kept places of enabled most-read feeds, matched to stories one way."""
    return (
        select(
            Story.id.label("story_id"),
            Story.group_id,
            Story.published_at,
            Story.section,
            MostReadRank.feed_id,
            MostReadRank.position,
            StoryEngagement.points,
            StoryEngagement.signals,
            StoryEngagement.first_signal_at,
        )
        .select_from(MostReadRank)
        .join(Feed, Feed.id == MostReadRank.feed_id)
        .join(Story, condition)
        .outerjoin(StoryEngagement, StoryEngagement.story_id == Story.id)
        .where(Feed.enabled.is_(True), Feed.role == "popular")
    )
