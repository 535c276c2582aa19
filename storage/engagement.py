"""Engagement the bot can observe (reactions, presses, reads) and the popularity it implies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, insert, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import most_read
from storage import versions as version_queries
from storage.lists import among
from storage.models import Engagement, ReactionCount, Story, StoryEngagement
from storage.sent_messages import story_for_message

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
# /popular reads this many times the leaders it needs of every edition, then keeps the
# reader's (see _leading_totals).
READABLE_MARGIN = 2
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


@dataclass(frozen=True, slots=True)
class Ranked:
    """A story group's place in /popular: its decayed score and when it was published."""

    group_id: int
    score: float
    published_at: datetime


async def popular(
    session: AsyncSession,
    *,
    since: datetime,
    now: datetime,
    limit: int,
    section: str | None = None,
    editions: Sequence[str] | None = None,
) -> list[Story]:
    """The most engaging story groups published since `since` (see popular_groups), each
    as its version in the reader's first edition that has one (`editions`, in preference
    order; None: every edition, the earliest version)."""
    return await popular_first(
        session, windows=[since], now=now, limit=limit, section=section, editions=editions
    )


async def popular_first(
    session: AsyncSession,
    *,
    windows: Sequence[datetime],
    now: datetime,
    limit: int,
    section: str | None = None,
    editions: Sequence[str] | None = None,
) -> list[Story]:
    """`popular` for the first of `windows` (starts, in the order to try) that has any
    story for the reader: today's, else the week's. The most-read places are matched to
    stories once, for the widest window, and each window keeps those published in it (the
    same rows placements(since=...) gives): a quiet morning pays for one match, not two."""
    if not windows:
        return []
    placed = await most_read.placements(session, since=min(windows), section=section)
    for since in windows:
        ranked = await popular_groups(
            session, since=since, now=now, limit=limit, section=section, editions=editions,
            placed=[placement for placement in placed if placement.published_at >= since],
        )  # fmt: skip
        group_ids = [group.group_id for group in ranked]
        chosen = await version_queries.versions(session, group_ids, editions, limit=limit)
        found = [chosen[group] for group in group_ids if group in chosen]
        if found:
            return found
    return []


async def popular_groups(
    session: AsyncSession,
    *,
    since: datetime,
    now: datetime,
    limit: int,
    section: str | None = None,
    editions: Sequence[str] | None = None,
    placed: Sequence[most_read.Placement] | None = None,
) -> list[Ranked]:
    """Story groups published since `since` with a version in `editions` (any, when None),
    by the signals since `since` on every version of each, decayed with age: best first.

    Engagement on any version counts for its group: a reaction on the Kazakh version lifts
    the story for a Russian reader too. The sums come from `story_engagement` (running
    totals per story, kept by triggers), added up per group in one grouped scan of the
    window's signalled stories: a story whose first signal came at or after `since` has
    every signal inside the window, so its total is its window's sum. The rare story with
    signals from before `since` (published after them: a date set ahead by the CMS) has its
    window summed from the signals themselves, so the ranking is the same either way.

    Groups in the window at a place of a most-read list get that place's points on top
    (MOST_READ_POINTS), whether or not anyone engaged with them through the bot, and decay
    with the rest. `placed`: the placements already matched for this window (None: matched
    here).
    """
    count = limit * CANDIDATES_PER_PLACE
    window = _Window(since, section, editions)
    rows = await _leading_totals(session, window, count + EARLY_SLACK)
    if sum(1 for row in rows if row.early) > EARLY_SLACK:  # more than one scan could carry
        known = {row.group_id for row in rows}
        rows += [row for row in await _group_totals(session, window) if row.group_id not in known]
    published = {row.group_id: row.published_at for row in rows}
    points = await _exact_points(session, window, rows)
    if placed is None:
        placed = await most_read.placements(session, since=since, section=section)
    await _add_most_read(session, window, placed, points, published)
    # The leaders by raw points (ties: the newer group), then decayed by each one's age.
    leaders = sorted(points.items(), key=lambda item: (-item[1], -item[0]))[:count]
    decayed = [
        Ranked(group, total * 0.5 ** (_age_hours(now, published[group]) / HALF_LIFE_HOURS),
               published[group])
        for group, total in leaders
    ]  # fmt: skip
    return sorted(decayed, key=lambda ranked: (-ranked.score, -ranked.group_id))


@dataclass(frozen=True, slots=True)
class _Window:
    """What one /popular ranking covers: published since, one section, some editions."""

    since: datetime
    section: str | None
    editions: Sequence[str] | None


async def _exact_points(
    session: AsyncSession, window: _Window, rows: list[Any]
) -> dict[int, float]:
    """Each group's window points: its running totals, plus the window's own signals of
    its versions whose first signal came before the window."""
    points = {row.group_id: float(row.points or 0.0) for row in rows}
    early_groups = [row.group_id for row in rows if row.early]
    if not early_groups:
        return points
    early: dict[int, int] = {}  # story -> group
    for start in range(0, len(early_groups), CHUNK):
        query = (
            select(Story.id, Story.group_id)
            .join(StoryEngagement, StoryEngagement.story_id == Story.id)
            .where(
                Story.group_id.in_(early_groups[start : start + CHUNK]),
                Story.published_at >= window.since,
                StoryEngagement.signals > 0,
                StoryEngagement.first_signal_at < window.since,
            )
        )
        if window.section is not None:
            query = query.where(Story.section == window.section)
        early.update((story_id, group_id) for story_id, group_id in await session.execute(query))
    for story_id, total in (await _points_since(session, sorted(early), window.since)).items():
        points[early[story_id]] += total
    return points


async def _add_most_read(
    session: AsyncSession,
    window: _Window,
    placed: Sequence[most_read.Placement],
    points: dict[int, float],
    published: dict[int, datetime],
) -> None:
    """Add most-read places to `points` (per group). A placed group outside the engagement
    scan (too few signals to be among its leaders) first gets its own window's signals, so
    its total is exact: the list lifts it from where readers put it, not from zero."""
    best: dict[tuple[int, int], int] = {}  # (group, feed) -> its best place
    for placement in placed:
        key = (placement.group_id, placement.feed_id)
        best[key] = min(best.get(key, placement.position), placement.position)
        group_published = published.get(placement.group_id, placement.published_at)
        published[placement.group_id] = min(group_published, placement.published_at)
    missing = sorted({group for group, _ in best} - points.keys())
    if missing:
        rows = await _group_totals(session, window, groups=missing)
        found = await _exact_points(session, window, rows)
        if window.editions is not None:  # a placed group the reader has no version of
            readable = await _readable(session, missing, window.editions)
            missing = [group for group in missing if group in readable]
        for group in missing:
            points[group] = found.get(group, 0.0)
    for (group, _), position in best.items():
        if group in points:
            points[group] += MOST_READ_POINTS / position


async def _readable(session: AsyncSession, groups: list[int], editions: Sequence[str]) -> set[int]:
    """The groups with a version in `editions`. The editions are checked here, not in SQL:
    with `edition IN (...)` in the query SQLite walks ix_stories_edition_published_at over a
    whole edition instead of the few versions of these groups (ix_stories_group_id)."""
    wanted = set(editions)
    found: set[int] = set()
    for start in range(0, len(groups), CHUNK):
        chunk = groups[start : start + CHUNK]
        query = select(Story.group_id, Story.edition).where(among(session, Story.group_id, chunk))
        rows = (await session.execute(query)).all()
        found.update(group for group, edition in rows if edition in wanted)
    return found


async def _leading_totals(session: AsyncSession, window: _Window, count: int) -> list[Any]:
    """The first `count` rows _group_totals gives for the window (early groups, then by
    points). Given editions, the leaders of every edition come first (READABLE_MARGIN times
    as many) and the groups the reader has no version of are dropped here: the rows left
    are the same, in the same order, and the scan skips its probe of each story's group for
    the reader's editions, half its time (a week is some 19,000 stories at a million a
    year; the probe reads every version's row). Only when too few of those leaders are
    readable (a reader of an edition that has few of the stories) does the scan probe."""
    if window.editions is None:
        return await _group_totals(session, window, count=count)
    wider = count * READABLE_MARGIN
    rows = await _group_totals(session, replace(window, editions=None), count=wider)
    readable = await _readable(session, [row.group_id for row in rows], window.editions)
    kept = [row for row in rows if row.group_id in readable]
    if len(kept) >= count or len(rows) < wider:  # every group is in `rows`, or enough
        return kept[:count]
    return await _group_totals(session, window, count=count)


def _age_hours(now: datetime, published_at: datetime) -> float:
    return (now - published_at).total_seconds() / 3600


async def _group_totals(
    session: AsyncSession,
    window: _Window,
    *,
    count: int | None = None,
    groups: Sequence[int] | None = None,
) -> list[Any]:
    """Groups with versions published in the window (of its section) with signals, each
    with its earliest version's publication time, the running totals of its versions
    whose signals all fall in the window, and whether it has others ("early": their total
    is not the window's). Early groups first, then by points (ties: the newer group); up
    to `count` rows, or (count None) only the early groups, or the given `groups`.

    Read from story_engagement alone: each totals row carries its story's publication time,
    group and section (copied by triggers, migration 0012), so the window's signalled
    stories come from ix_story_engagement_published_at without a read of their wide
    `stories` rows (a week is some 19,000 stories at a million a year)."""
    totals = StoryEngagement
    early_signal = totals.first_signal_at < window.since
    early = func.max(case((early_signal, 1), else_=0)).label("early")
    points = func.sum(case((early_signal, 0.0), else_=totals.points)).label("points")
    group = totals.group_id.label("group_id")
    query = (
        select(group, func.min(totals.published_at).label("published_at"), points, early)
        .where(totals.published_at >= window.since, totals.signals > 0)
        .group_by(totals.group_id)
    )
    if window.section is not None:
        query = query.where(totals.section == window.section)
    if groups is not None:
        return list(
            (await session.execute(query.where(among(session, totals.group_id, groups)))).all()
        )
    if window.editions is not None:
        version = aliased(Story)
        # `edition || ''`: an expression no index serves, so the probe goes through
        # ix_stories_group_id; SQLite otherwise walks ix_stories_edition_published_at for a
        # single edition (`edition = ?`), every story of the edition for each group.
        query = query.where(
            exists().where(
                version.group_id == totals.group_id,
                version.edition.concat("").in_(list(window.editions)),
            )
        )
    if count is None:
        query = query.having(early == 1)
    else:
        query = query.order_by(early.desc(), points.desc(), totals.group_id.desc()).limit(count)
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
