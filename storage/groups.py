"""Grouping the versions of one story: the links each story's source names, and the merge.

The versions of a story (its Kazakh, Russian and English editions) arrive in any order,
minutes apart, each naming some of the others by link (hreflang in the feed or on the page,
the CMS's translations). Whichever names whom, a version that arrives later joins the group
of the ones before:

* a story whose link some stored story names joins that story's group;
* a story naming links of stored stories joins their groups;
* two stories naming the same version are versions of one story too;

and when that shows two existing groups to be one, they merge into the older group id
(the smaller: ids grow). Deliveries keep the group they were queued with: a chat that
already had a version is not sent another of a group it was counted in.

Links are compared as stored: canonical (bot.domain.identity.canonical_link), so lookups
are equality on indexed columns (stories.link unique, ix_story_alternates_link).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Story, StoryAlternate

# Keeps IN (...) lists well under SQLite's and asyncpg's bound-parameter limits.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Versions:
    """A story and the versions its source names: (edition, canonical link) pairs."""

    story_id: int
    alternates: tuple[tuple[str, str], ...] = ()


async def record_versions(session: AsyncSession, stories: Sequence[Versions]) -> int:
    """Record the alternates the stories name and merge the groups they join.

    Returns how many groups were merged into others (0: every story stays as it was).
    Called in the transaction that stored the stories, so a version is never seen stored
    without its group.
    """
    await _record_alternates(session, stories)
    story_ids = [story.story_id for story in stories]
    own = await _own_rows(session, story_ids)  # story id -> (link, group id)
    named = {link for story in stories for _, link in story.alternates}
    links = named | {link for link, _ in own.values() if link}
    naming = await _groups_naming(session, links)  # link -> groups of stories naming it
    stored = await _groups_by_link(session, named)  # link -> group of the story with it
    merges = _UnionFind()
    for story in stories:
        if story.story_id not in own:
            continue
        link, group = own[story.story_id]
        related: set[int] = set(naming.get(link, ())) if link else set()
        for _, alternate in story.alternates:
            related |= naming.get(alternate, set())
            if alternate in stored:
                related.add(stored[alternate])
        for other in related:
            merges.join(group, other)
    return await _merge(session, merges.components())


@dataclass(frozen=True, slots=True)
class Pending:
    """A story whose article page is still to be read for the versions it names."""

    story_id: int
    link: str | None
    edition: str | None
    first_seen_at: datetime


async def pending_stories(session: AsyncSession, *, limit: int) -> list[Pending]:
    """Stories waiting for their page, oldest first: whatever a crash left waiting too."""
    query = (
        select(Story.id, Story.link, Story.edition, Story.first_seen_at)
        .where(Story.alternates_pending.is_(True))
        .order_by(Story.first_seen_at, Story.id)
        .limit(limit)
    )
    return [Pending(*row) for row in (await session.execute(query)).all()]


async def clear_pending(session: AsyncSession, story_ids: Sequence[int]) -> int:
    """The fan-out may take these stories now (their page was read, or will never be)."""
    cleared = 0
    for start in range(0, len(story_ids), CHUNK):
        result = await session.execute(
            update(Story)
            .where(Story.id.in_(story_ids[start : start + CHUNK]))
            .where(Story.alternates_pending.is_(True))
            .values(alternates_pending=False)
        )
        cleared += int(getattr(result, "rowcount", 0) or 0)
    return cleared


async def expire_pending(session: AsyncSession, *, seen_before: datetime) -> int:
    """Stop waiting for pages of stories first seen before `seen_before` (the deadline)."""
    result = await session.execute(
        update(Story)
        .where(Story.alternates_pending.is_(True), Story.first_seen_at < seen_before)
        .values(alternates_pending=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _insert(session: AsyncSession) -> object:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(StoryAlternate.__table__).on_conflict_do_nothing()


async def _record_alternates(session: AsyncSession, stories: Sequence[Versions]) -> None:
    rows = [
        {"story_id": story.story_id, "link": link, "edition": edition}
        for story in stories
        for edition, link in story.alternates
    ]
    for start in range(0, len(rows), CHUNK):
        await session.execute(_insert(session), rows[start : start + CHUNK])  # type: ignore[arg-type]


async def _own_rows(
    session: AsyncSession, story_ids: Sequence[int]
) -> dict[int, tuple[str | None, int]]:
    found: dict[int, tuple[str | None, int]] = {}
    for start in range(0, len(story_ids), CHUNK):
        chunk = story_ids[start : start + CHUNK]
        query = select(Story.id, Story.link, Story.group_id).where(Story.id.in_(chunk))
        for story_id, link, group_id in (await session.execute(query)).all():
            found[story_id] = (link, group_id if group_id is not None else story_id)
    return found


async def _groups_naming(session: AsyncSession, links: Iterable[str]) -> dict[str, set[int]]:
    """For each link, the groups of the stories that name it as a version."""
    found: dict[str, set[int]] = {}
    listed = sorted(links)
    for start in range(0, len(listed), CHUNK):
        query = (
            select(StoryAlternate.link, Story.group_id, Story.id)
            .join(Story, Story.id == StoryAlternate.story_id)
            .where(StoryAlternate.link.in_(listed[start : start + CHUNK]))
        )
        for link, group_id, story_id in (await session.execute(query)).all():
            found.setdefault(link, set()).add(group_id if group_id is not None else story_id)
    return found


async def _groups_by_link(session: AsyncSession, links: Iterable[str]) -> dict[str, int]:
    """For each link, the group of the stored story that is it."""
    found: dict[str, int] = {}
    listed = sorted(links)
    for start in range(0, len(listed), CHUNK):
        query = select(Story.link, Story.group_id, Story.id).where(
            Story.link.in_(listed[start : start + CHUNK])
        )
        for link, group_id, story_id in (await session.execute(query)).all():
            found[link] = group_id if group_id is not None else story_id
    return found


async def _merge(session: AsyncSession, components: Iterable[set[int]]) -> int:
    """Every story of each component's younger groups moves to its oldest group."""
    merged = 0
    for groups in components:
        if len(groups) < 2:
            continue
        oldest = min(groups)
        younger = sorted(groups - {oldest})
        await session.execute(
            update(Story).where(Story.group_id.in_(younger)).values(group_id=oldest)
        )
        merged += len(younger)
    return merged


async def group_of(session: AsyncSession, story_id: int) -> list[int]:
    """The ids of every version in `story_id`'s group, oldest first (itself included)."""
    group_id = await session.scalar(select(Story.group_id).where(Story.id == story_id))
    if group_id is None:
        return [story_id]
    query = select(Story.id).where(Story.group_id == group_id).order_by(Story.id)
    return list((await session.scalars(query)).all())


class _UnionFind:
    """Groups joined in one batch: a story may join two groups that are then one."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        parent = self._parent.setdefault(item, item)
        if parent != item:
            parent = self._parent[item] = self.find(parent)
        return parent

    def join(self, first: int, second: int) -> None:
        a, b = self.find(first), self.find(second)
        if a != b:
            self._parent[max(a, b)] = min(a, b)

    def components(self) -> list[set[int]]:
        found: dict[int, set[int]] = {}
        for item in list(self._parent):
            found.setdefault(self.find(item), set()).add(item)
        return list(found.values())
