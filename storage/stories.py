"""Queries on stories: idempotent storing (each story once) and the reads the bot serves."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage import search as search_index
from storage.models import Story

# Keeps IN (...) lists well under SQLite's and asyncpg's bound-parameter limits.
CHUNK = 500


class StoryFields(Protocol):
    """What storing needs from a normalised story (bot.feeds.normalize.StoryDraft)."""

    identity: str
    link: str | None
    title: str
    summary: str
    image_url: str | None
    author: str | None
    language: str | None
    edition: str | None  # None: the language is the edition
    section: str | None
    published_at: datetime
    content_hash: str


@dataclass(frozen=True, slots=True)
class StoreResult:
    new_ids: list[int]
    updated_ids: list[int]
    unchanged: int


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique_drafts(drafts: Iterable[StoryFields]) -> list[StoryFields]:
    """Drop repeats inside one batch (same identity or same link): the first one wins."""
    seen_identities: set[str] = set()
    seen_links: set[str] = set()
    unique: list[StoryFields] = []
    for draft in drafts:
        if draft.identity in seen_identities or (draft.link and draft.link in seen_links):
            continue
        seen_identities.add(draft.identity)
        if draft.link:
            seen_links.add(draft.link)
        unique.append(draft)
    return unique


async def _existing(
    session: AsyncSession, drafts: Sequence[StoryFields]
) -> tuple[dict[str, tuple[int, str]], dict[str, tuple[int, str]]]:
    """Known stories matching the drafts, by identity and by link: id and content hash."""
    by_identity: dict[str, tuple[int, str]] = {}
    by_link: dict[str, tuple[int, str]] = {}
    for chunk in _chunks(drafts):
        identities = [draft.identity for draft in chunk]
        links = [draft.link for draft in chunk if draft.link]
        condition = Story.identity.in_(identities)
        if links:
            condition = or_(condition, Story.link.in_(links))
        query = select(Story.id, Story.identity, Story.link, Story.content_hash).where(condition)
        for story_id, identity, link, content_hash in (await session.execute(query)).all():
            by_identity[identity] = (story_id, content_hash)
            if link:
                by_link[link] = (story_id, content_hash)
    return by_identity, by_link


def _insert_statement(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # DO NOTHING with no target covers both unique keys (identity and link), so a story
    # stored concurrently by another poll or another process is skipped, not an error.
    return module.insert(Story.__table__).on_conflict_do_nothing().returning(Story.__table__.c.id)


def _row(draft: StoryFields, feed_id: int | None, pushable: bool, now: datetime) -> dict[str, Any]:
    return {
        "identity": draft.identity,
        "link": draft.link,
        "feed_id": feed_id,
        "title": draft.title,
        "summary": draft.summary,
        "image_url": draft.image_url,
        "author": draft.author,
        "language": draft.language,
        "edition": draft.edition or draft.language,
        "section": draft.section,
        "published_at": draft.published_at,
        "first_seen_at": now,
        "updated_at": now,
        "content_hash": draft.content_hash,
        "pushable": pushable,
        # Backlog is never fanned out: mark it done now so the fan-out query skips it.
        "fanned_out_at": None if pushable else now,
    }


async def store_stories(
    session: AsyncSession,
    drafts: Iterable[StoryFields],
    *,
    feed_id: int | None,
    pushable: bool,
    now: datetime,
) -> StoreResult:
    """Insert unseen stories, update corrected ones; return only the ids that are new.

    A known story whose headline or summary changed at the source is updated in place and its
    `updated_at` moves, so corrections can reach chats later; its publication time does not.
    """
    unique = _unique_drafts(drafts)
    by_identity, by_link = await _existing(session, unique)
    fresh: list[StoryFields] = []
    updated: list[int] = []
    unchanged = 0
    for draft in unique:
        known = by_identity.get(draft.identity) or (by_link.get(draft.link) if draft.link else None)
        if known is None:
            fresh.append(draft)
            continue
        story_id, content_hash = known
        if content_hash == draft.content_hash:
            unchanged += 1
            continue
        await session.execute(
            update(Story)
            .where(Story.id == story_id)
            .values(
                title=draft.title,
                summary=draft.summary,
                image_url=draft.image_url,
                content_hash=draft.content_hash,
                updated_at=now,
            )
        )
        updated.append(story_id)
    new_ids: list[int] = []
    if fresh:
        statement = _insert_statement(session)
        rows = [_row(draft, feed_id, pushable, now) for draft in fresh]
        for chunk in _chunks(rows):
            result = await session.execute(statement, list(chunk))
            new_ids.extend(result.scalars().all())
        await _stand_alone(session, new_ids)
    unchanged += len(fresh) - len(new_ids)
    return StoreResult(new_ids=new_ids, updated_ids=updated, unchanged=unchanged)


async def _stand_alone(session: AsyncSession, story_ids: Sequence[int]) -> None:
    """New stories start as groups of one (their versions join later, storage/groups)."""
    for chunk in _chunks(story_ids):
        await session.execute(
            update(Story).where(Story.id.in_(chunk)).values(group_id=Story.id)
        )


async def count_stories(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Story)) or 0)


async def get_stories(session: AsyncSession, story_ids: Sequence[int]) -> list[Story]:
    """The stories with these ids, in the order given."""
    found: dict[int, Story] = {}
    for chunk in _chunks(story_ids):
        for story in (await session.scalars(select(Story).where(Story.id.in_(chunk)))).all():
            found[story.id] = story
    return [found[story_id] for story_id in story_ids if story_id in found]


async def latest(
    session: AsyncSession, *, limit: int, section: str | None = None, offset: int = 0
) -> list[Story]:
    """The newest stories, optionally of one section (served by the published_at indexes)."""
    query = select(Story).order_by(Story.published_at.desc(), Story.id.desc())
    if section is not None:
        query = query.where(Story.section == section)
    return list((await session.scalars(query.offset(offset).limit(limit))).all())


async def published_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    section: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Story]:
    """Stories published in [start, end), oldest first: a day's timeline (or a page of it)."""
    query = (
        select(Story)
        .where(Story.published_at >= start, Story.published_at < end)
        .order_by(Story.published_at, Story.id)
        .offset(offset)
        .limit(limit)
    )
    if section is not None:
        query = query.where(Story.section == section)
    return list((await session.scalars(query)).all())


async def count_published_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    section: str | None = None,
    limit: int = 500,
) -> int:
    """How many stories `published_between` would return (counted in the index, up to
    `limit`): a timeline's page count without loading the day."""
    query = select(Story.id).where(Story.published_at >= start, Story.published_at < end)
    if section is not None:
        query = query.where(Story.section == section)
    counted = select(func.count()).select_from(query.limit(limit).subquery())
    return int(await session.scalar(counted) or 0)


async def search(
    session: AsyncSession, words: Sequence[str], *, limit: int, language: str | None = None
) -> list[Story]:
    """Stories matching every word, best matches first, then newest (the full-text index)."""
    return await search_index.search(session, words, limit=limit, language=language)
