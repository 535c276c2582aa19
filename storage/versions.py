"""A story group's versions: the one per edition to link to, and the one each reader is shown.

The group itself (which stories are versions of one another) is kept by storage/groups.py
as stories are stored (storage/stories.py); these are its reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.lists import among
from storage.models import Story, StoryAlternate
from storage.stories import CHUNK, get_stories


@dataclass(frozen=True, slots=True)
class StoryVersion:
    """One version of a story group: the story (None: named by a source, not stored yet),
    its edition and its link."""

    story_id: int | None
    edition: str
    link: str


async def versions_of(session: AsyncSession, group_id: int) -> list[StoryVersion]:
    """The versions of one story group that can be linked to: one per edition (the first
    stored in it), oldest first; then, for an edition none is stored in yet, the link its
    stories' sources name for it (a story pushed before its translations arrive still
    leads to them: the site published them together). Served by ix_stories_group_id and
    the story_alternates primary key."""
    query = (
        select(Story.id, Story.edition, Story.link)
        .where(Story.group_id == group_id, Story.edition.is_not(None), Story.link.is_not(None))
        .order_by(Story.id)
    )
    versions: dict[str, StoryVersion] = {}
    for story_id, edition, link in (await session.execute(query)).all():
        versions.setdefault(edition, StoryVersion(story_id, edition, link))
    named = (
        select(StoryAlternate.edition, StoryAlternate.link)
        .join(Story, Story.id == StoryAlternate.story_id)
        .where(Story.group_id == group_id)
        .order_by(StoryAlternate.story_id, StoryAlternate.link)
    )
    for edition, link in (await session.execute(named)).all():
        versions.setdefault(edition, StoryVersion(None, edition, link))
    return list(versions.values())


async def versions(
    session: AsyncSession,
    group_ids: Sequence[int],
    editions: Sequence[str] | None,
    *,
    limit: int | None = None,
) -> dict[int, Story]:
    """Each group's version for a reader of `editions` (preference order; None: any): the
    one in the first of them it has, the earliest stored on a tie; groups with none are
    left out. With `limit`, only the first `limit` groups (in the order given) that have
    one: a ranked list loads the stories it shows, not its every candidate."""
    rank = {edition: place for place, edition in enumerate(editions or ())}
    best: dict[int, tuple[int, int]] = {}  # group -> (edition's place, story id)
    ids = list(group_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        # Editions are checked here, not in SQL: `edition IN (...)` makes SQLite walk a whole
        # edition (ix_stories_edition_published_at) instead of these groups' few versions.
        # Only ids and editions first: the chosen versions alone are loaded whole.
        query = select(Story.id, Story.group_id, Story.edition).where(
            among(session, Story.group_id, chunk)
        )
        for story_id, group_id, edition in (await session.execute(query)).all():
            if editions is not None and edition not in rank:
                continue
            place = (rank.get(edition or "", 0), story_id)
            group = group_id if group_id is not None else story_id
            if group not in best or place < best[group]:
                best[group] = place
    if limit is not None:
        best = {group: best[group] for group in group_ids if group in best}
        best = dict(list(best.items())[:limit])
    by_id = {story_id: group for group, (_, story_id) in best.items()}
    return {by_id[story.id]: story for story in await get_stories(session, list(by_id))}
