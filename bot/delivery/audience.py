"""Which earlier stories a chat may find under "Related": only those it was or could be shown.

Most chats may be shown every story of their editions and share one render of a story
(bot/delivery/compose.py). A chat with approval was never shown a story the editors still
hold, skipped or let expire; a chat with filters, none they filter out: linking one there
would leak it. Such a chat's links are picked from a wider pool of the story's related
stories, dropping those; the composer reads the pool (and which of it the desk has not
approved) once per story and batch, and the chats whose picks come out the same share one
render. The narrowed chats themselves are read once per batch: one query on channel_rules,
which has a row with approval or a filter for only a few chats.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.delivery.related import RelatedIndex
from bot.domain.channel_rules import StoryText
from bot.domain.filters import DeskFilters
from bot.domain.related import MAX_RELATED
from storage import approvals as approval_queries
from storage import channel_rules as desk_queries
from storage import stories as story_queries
from storage.channel_rules import Narrowing
from storage.db import Database
from storage.models import Story

# A narrowed pick chooses among this many related stories (the pool), so that dropping the
# ones a chat was never shown still leaves it MAX_RELATED when there are that many.
POOL = 12


@dataclass(frozen=True, slots=True)
class Pool:
    """A story's wider set of related stories, best first, and those of them the desk has
    not approved (waiting, skipped, expired)."""

    ranked: tuple[Story, ...] = ()
    not_approved: frozenset[int] = frozenset()


async def narrowed_chats(database: Database) -> dict[int, Narrowing]:
    """Chat id -> what narrows its Related links, for the few chats anything narrows."""
    async with database.sessions() as session:
        return await desk_queries.narrowed_chats(session)


async def pool_of(database: Database, index: RelatedIndex, story_id: int) -> Pool:
    """The story's pool: read once per story and batch, whichever chats narrow it."""
    async with database.sessions() as session:
        found = await story_queries.get_stories(session, [story_id])
    if not found:
        return Pool()
    ranked = await index.related_to(found[0], limit=POOL)
    async with database.sessions() as session:
        held = await approval_queries.not_approved(session, [story.id for story in ranked])
    return Pool(tuple(ranked), frozenset(held))


def pick(pool: Pool, narrowing: Narrowing, filters: DeskFilters) -> tuple[Story, ...]:
    """The pool's best stories (up to MAX_RELATED) a chat so narrowed may be shown."""
    picked: list[Story] = []
    for candidate in pool.ranked:
        if narrowing.approval and candidate.id in pool.not_approved:
            continue
        if narrowing.filters is not None and not filters.admits(
            narrowing.filters, _text(candidate)
        ):
            continue
        picked.append(candidate)
        if len(picked) == MAX_RELATED:
            break
    return tuple(picked)


def _text(story: Story) -> StoryText:
    """What filters read of a story, as the fan-out hands it to them."""
    return StoryText(story.id, story.title, story.summary, tuple(story.categories or ()))
