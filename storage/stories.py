"""Queries on stories: idempotent storing (each story once) and the reads the bot serves
(a story group's versions are read in storage/versions.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import and_, exists, func, or_, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import groups
from storage import search as search_index
from storage.lists import among
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
    # Optionally `alternates`: the versions its source names, (edition, canonical link), as
    # StoryDraft has them (see storage/groups); a draft without them names none. Optionally
    # `categories`: the feed item's categories (plain text), for the desk's filters.


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
    columns = Story.__table__.c
    return (
        module.insert(Story.__table__)
        .on_conflict_do_nothing()
        .returning(columns.id, columns.identity)
    )


def _row(
    draft: StoryFields, feed_id: int | None, pushable: bool, now: datetime, pending: bool
) -> dict[str, Any]:
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
        "categories": _categories(draft),
        "published_at": draft.published_at,
        "first_seen_at": now,
        "updated_at": now,
        "content_hash": draft.content_hash,
        "pushable": pushable,
        # Backlog is never fanned out: mark it done now so the fan-out query skips it.
        "fanned_out_at": None if pushable else now,
        # Its page is still to be read for the versions it names: the fan-out waits for it
        # (only a pushable story: backlog is never fanned out, so nothing waits).
        "alternates_pending": pending and pushable,
    }


def _categories(draft: StoryFields) -> list[str] | None:
    categories = list(getattr(draft, "categories", ()))
    return categories or None


async def store_stories(
    session: AsyncSession,
    drafts: Iterable[StoryFields],
    *,
    feed_id: int | None,
    pushable: bool,
    now: datetime,
    alternates_pending: bool = False,
) -> StoreResult:
    """Insert unseen stories, update corrected ones; return only the ids that are new.

    A known story whose headline or summary changed at the source is updated in place and its
    `updated_at` moves, so corrections can reach chats later; its publication time does not.
    A new story joins the group of the versions it names or that name it (storage/groups),
    in this transaction. With `alternates_pending`, new pushable stories wait for their page's
    versions to be read before they are fanned out (feeds with alternates = "page").
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
                categories=_categories(draft),
                content_hash=draft.content_hash,
                updated_at=now,
            )
        )
        updated.append(story_id)
    new_ids: list[int] = []
    if fresh:
        statement = _insert_statement(session)
        rows = [_row(draft, feed_id, pushable, now, alternates_pending) for draft in fresh]
        inserted: dict[str, int] = {}
        for chunk in _chunks(rows):
            result = await session.execute(statement, list(chunk))
            inserted.update({identity: story_id for story_id, identity in result.all()})
        new_ids = [inserted[draft.identity] for draft in fresh if draft.identity in inserted]
        await groups.record_versions(
            session,
            [
                groups.Versions(inserted[draft.identity], tuple(getattr(draft, "alternates", ())))
                for draft in fresh
                if draft.identity in inserted
            ],
        )
    unchanged += len(fresh) - len(new_ids)
    return StoreResult(new_ids=new_ids, updated_ids=updated, unchanged=unchanged)


@dataclass(frozen=True, slots=True)
class Refused:
    """A story the database would not take, and its error (first line, no parameters)."""

    identity: str
    link: str | None
    error: str


def _error_line(exc: DBAPIError) -> str:
    return str(exc.orig or exc).strip().splitlines()[0][:300]


async def store_each(
    session: AsyncSession,
    drafts: Iterable[StoryFields],
    *,
    feed_id: int | None,
    pushable: bool,
    now: datetime,
    alternates_pending: bool = False,
) -> tuple[StoreResult, list[Refused]]:
    """`store_stories`, with one story's database error confined to that story.

    The batch is tried in one savepoint (the usual case: one round of statements); when the
    database refuses it, each story is stored in a savepoint of its own and the ones it
    refuses are returned, while the others stay in the caller's transaction. When it refuses
    every one, the error is no story's own (a lost connection, a bug): it is raised.
    """
    unique = _unique_drafts(drafts)
    options: dict[str, Any] = {
        "feed_id": feed_id,
        "pushable": pushable,
        "now": now,
        "alternates_pending": alternates_pending,
    }
    try:
        async with session.begin_nested():
            return await store_stories(session, unique, **options), []
    except DBAPIError as exc:
        if exc.connection_invalidated or len(unique) < 2:
            raise
    new_ids: list[int] = []
    updated: list[int] = []
    unchanged = 0
    refused: list[Refused] = []
    first_error: DBAPIError | None = None
    for draft in unique:
        try:
            async with session.begin_nested():
                one = await store_stories(session, [draft], **options)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise
            first_error = first_error or exc
            refused.append(Refused(draft.identity, draft.link, _error_line(exc)))
            continue
        new_ids += one.new_ids
        updated += one.updated_ids
        unchanged += one.unchanged
    if first_error is not None and len(refused) == len(unique):
        raise first_error
    return StoreResult(new_ids=new_ids, updated_ids=updated, unchanged=unchanged), refused


async def count_stories(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Story)) or 0)


async def get_stories(session: AsyncSession, story_ids: Sequence[int]) -> list[Story]:
    """The stories with these ids, in the order given."""
    found: dict[int, Story] = {}
    for chunk in _chunks(story_ids):
        for story in (
            await session.scalars(select(Story).where(among(session, Story.id, chunk)))
        ).all():
            found[story.id] = story
    return [found[story_id] for story_id in story_ids if story_id in found]


def first_versions(editions: Sequence[str], rank: int) -> Any:
    """SQL: a story of edition `editions[rank]` is the one its group shows to a reader of
    `editions` (in preference order): no version of its group is in an edition the reader
    prefers, nor an earlier one in its own edition. One probe of ix_stories_group_id per
    story (groups have a version or three), so lists keep streaming from their indexes."""
    other = aliased(Story)
    better = and_(other.edition == editions[rank], other.id < Story.id)
    if rank:
        better = or_(other.edition.in_(list(editions[:rank])), better)
    return ~exists().where(other.group_id == Story.group_id, other.id != Story.id, better)


def _in_edition(query: Any, editions: Sequence[str], rank: int) -> Any:
    return query.where(Story.edition == editions[rank], first_versions(editions, rank))


async def _merged_ids(
    session: AsyncSession, branches: list[Any], *, newest_first: bool, limit: int, offset: int
) -> list[int]:
    """Ids from per-edition queries (each ordered by its edition's index and cut at
    offset + limit), merged into one page in publication order."""
    merged = union_all(*(select(branch.subquery()) for branch in branches)).subquery()
    order = (
        (merged.c.published_at.desc(), merged.c.id.desc())
        if newest_first
        else (merged.c.published_at, merged.c.id)
    )
    query = select(merged.c.id).order_by(*order).offset(offset).limit(limit)
    return list((await session.scalars(query)).all())


async def latest(
    session: AsyncSession,
    *,
    limit: int,
    section: str | None = None,
    offset: int = 0,
    editions: Sequence[str] | None = None,
) -> list[Story]:
    """The newest stories, optionally of one section (served by the published_at indexes).

    Given `editions` (a reader's, in preference order), only those editions, each group
    once in the first of them that has it: one branch per edition, each walking its
    edition's index newest first."""
    if editions is None:
        query = select(Story).order_by(Story.published_at.desc(), Story.id.desc())
        if section is not None:
            query = query.where(Story.section == section)
        return list((await session.scalars(query.offset(offset).limit(limit))).all())
    branches = []
    for rank in range(len(editions)):
        branch = _in_edition(select(Story.id, Story.published_at), editions, rank)
        if section is not None:
            branch = branch.where(Story.section == section)
        order = (Story.published_at.desc(), Story.id.desc())
        branches.append(branch.order_by(*order).limit(offset + limit))
    ids = await _merged_ids(session, branches, newest_first=True, limit=limit, offset=offset)
    return await get_stories(session, ids)


def _between(query: Any, start: datetime, end: datetime, section: str | None) -> Any:
    query = query.where(Story.published_at >= start, Story.published_at < end)
    return query.where(Story.section == section) if section is not None else query


async def published_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    section: str | None = None,
    limit: int = 500,
    offset: int = 0,
    editions: Sequence[str] | None = None,
) -> list[Story]:
    """Stories published in [start, end), oldest first: a day's timeline (or a page of it);
    given `editions`, each group once in the reader's first edition that has it."""
    if editions is None:
        query = _between(select(Story), start, end, section)
        query = query.order_by(Story.published_at, Story.id).offset(offset).limit(limit)
        return list((await session.scalars(query)).all())
    branches = [
        _in_edition(_between(select(Story.id, Story.published_at), start, end, section),
                    editions, rank)
        .order_by(Story.published_at, Story.id)
        .limit(offset + limit)
        for rank in range(len(editions))
    ]  # fmt: skip
    ids = await _merged_ids(session, branches, newest_first=False, limit=limit, offset=offset)
    return await get_stories(session, ids)


async def count_published_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    section: str | None = None,
    limit: int = 500,
    editions: Sequence[str] | None = None,
) -> int:
    """How many stories `published_between` would return (counted in the index, up to
    `limit`): a timeline's page count without loading the day."""
    if editions is None:
        queries = [_between(select(Story.id), start, end, section)]
    else:
        queries = [
            _in_edition(_between(select(Story.id), start, end, section), editions, rank)
            for rank in range(len(editions))
        ]
    total = 0
    for query in queries:
        counted = select(func.count()).select_from(query.limit(limit).subquery())
        total += int(await session.scalar(counted) or 0)
    return min(total, limit)


async def search(
    session: AsyncSession,
    words: Sequence[str],
    *,
    limit: int,
    language: str | None = None,
    editions: Sequence[str] | None = None,
    fuzzy: bool = True,
) -> list[Story]:
    """Stories matching every word, best matches first, then newest (the full-text index);
    given `editions` (preference order), only those, each group once: its best-ranked
    match in the reader's first edition that has one. `fuzzy`: see search_index.search."""
    if editions is None:
        return await search_index.search(
            session, words, limit=limit, language=language, fuzzy=fuzzy
        )
    found = await search_index.search(
        session,
        words,
        limit=limit * len(editions),
        language=language,
        editions=editions,
        fuzzy=fuzzy,
    )
    return one_per_group(found, editions)[:limit]


async def similar(
    session: AsyncSession,
    words: Sequence[str],
    *,
    limit: int,
    editions: Sequence[str],
    preferred: Sequence[str] = (),
) -> list[Story]:
    """Headlines like the words (a misspelling's fallback, PostgreSQL only), in `editions`,
    each group once, the `preferred` editions' first."""
    found = await search_index.similar(
        session, words, limit=limit * len(editions), editions=editions, preferred=preferred
    )
    return one_per_group(found, editions)[:limit]


def one_per_group(found: Sequence[Story], editions: Sequence[str]) -> list[Story]:
    """Each group once, at its first place in `found`, as its version in the first of
    `editions` among those found."""
    rank = {edition: place for place, edition in enumerate(editions)}
    best: dict[int, Story] = {}
    order: list[int] = []
    for story in found:
        group = story.group_id if story.group_id is not None else story.id
        known = best.get(group)
        if known is None:
            order.append(group)
            best[group] = story
        elif rank.get(story.edition or "", len(rank)) < rank.get(known.edition or "", len(rank)):
            best[group] = story
    return [best[group] for group in order]


async def newest_for(
    session: AsyncSession,
    *,
    sections: Sequence[str],
    editions: Sequence[str],
    limit: int,
) -> list[Story]:
    """The newest stories a chat reading `sections` and `editions` is sent (as the fan-out
    picks them: a story of one of its sections, in an edition it reads or in none), newest
    first; the admin screens preview a chat's next story from these."""
    if not sections:
        return []
    query = select(Story).where(Story.section.in_(list(sections)))
    if editions:
        query = query.where(or_(Story.edition.is_(None), Story.edition.in_(list(editions))))
    query = query.order_by(Story.published_at.desc(), Story.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())
