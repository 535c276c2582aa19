"""Stories in: a feed's items after a poll, or one story straight from the newsroom's CMS.

One use case for both doors. Each story is made to fit what the database holds
(bot/feeds/fit.py), recognised by its canonical link and identity (bot/domain/identity.py),
and stored new, corrected (its content hash changed) or known. Nothing is pushed from here:
a new story is stored with `fanned_out_at` unset and the delivery tick queues it
(bot.delivery), so a crash between the two loses nothing; the CMS's story wakes the tick at
once, a feed's waits for its next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.identity import canonical_link, content_hash, story_identity
from bot.feeds.fit import fit_story
from bot.feeds.normalize import FUTURE_TOLERANCE, StoryDraft
from bot.feeds.text import html_to_text, shorten
from storage import stats as stats_queries
from storage import stories as story_queries
from storage.db import Database
from storage.models import Feed

log = logging.getLogger(__name__)


class StoryRefused(Exception):
    """The story cannot be stored as it is (bot/feeds/fit.py): `field` and why, for a 422."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StoryIn:
    """A story as the CMS sends it (POST /api/v1/stories)."""

    title: str
    url: str
    section: str
    summary: str = ""
    image: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    # Its versions in the other editions: edition -> URL (the CMS knows its translations).
    translations: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class StoredStory:
    id: int
    new: bool


def _not_in_future(stated: datetime | None, now: datetime) -> datetime:
    """The stated time in UTC, or now when missing or in the future (beyond clock skew), as
    for feeds: a story dated 9999 would stay first in every "latest" list."""
    if stated is None:
        return now
    stated = stated.astimezone(UTC)
    return now if stated > now + FUTURE_TOLERANCE else stated


def _translations(
    translations: dict[str, str], edition: str | None, link: str
) -> tuple[tuple[str, str], ...]:
    """(edition, canonical link) of each translation, compared as stories' links are; the
    story's own edition and link are not versions of it."""
    versions = []
    for language, url in translations.items():
        canonical = canonical_link(url, url)
        if canonical and canonical != link and language != edition:
            versions.append((language, canonical))
    return tuple(versions)


def fitted_from_feed(feed: Feed, drafts: Iterable[StoryDraft]) -> list[StoryDraft]:
    """A feed's stories as the database can hold them (bot/feeds/fit.py): one that cannot
    be is shortened or left out alone, with one log line each."""
    kept: list[StoryDraft] = []
    for draft in drafts:
        fitted = fit_story(draft)
        if fitted.note is not None:
            log.warning(
                "feed %s: item %s %s",
                feed.url,
                shorten(draft.link or draft.identity, 120),
                fitted.note,
            )
        if fitted.draft is not None:
            kept.append(fitted.draft)
    return kept


async def store_from_feed(
    session: AsyncSession,
    feed: Feed,
    drafts: list[StoryDraft],
    now: datetime,
    *,
    alternates_pending: bool,
) -> tuple[list[int], list[int]]:
    """A poll's stories, in the poll's transaction (beside the feed's health): (new ids,
    corrected ids). One the database refuses is left out alone, with a log line."""
    if not drafts:
        return [], []
    stored, refused = await story_queries.store_each(
        session,
        drafts,
        feed_id=feed.id,
        pushable=feed.backlog_done,
        now=now,
        alternates_pending=alternates_pending,
    )
    for story in refused:
        log.warning(
            "feed %s: item %s not stored, the database refused it: %s",
            feed.url,
            story.link or story.identity,
            story.error,
        )
    return stored.new_ids, stored.updated_ids


class CmsStories:
    """The CMS's stories: stored pushable at once (no feed, no backlog), then the delivery
    tick is woken."""

    def __init__(
        self,
        database: Database,
        wake_delivery: Callable[[], None],
        on_new_stories: Callable[[int], None] = lambda count: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        edition_of: Callable[[str | None], str | None] = lambda language: language,
    ) -> None:
        self._db = database
        self._edition_of = edition_of  # settings.edition_of: the edition a language is in
        self._wake = wake_delivery
        self._on_new_stories = on_new_stories
        self._clock = clock

    def draft(self, story: StoryIn, now: datetime) -> StoryDraft:
        """The story as a feed's item would be stored: identified by its canonical link, so
        when the feed later carries the same article it is recognised and not pushed twice."""
        link = canonical_link(story.url, story.url) or story.url
        title = html_to_text(story.title)
        summary = html_to_text(story.summary)
        edition = self._edition_of(story.language)
        return StoryDraft(
            identity=story_identity(None, link, title, summary, base=link),
            link=link,
            title=title,
            summary=summary,
            image_url=canonical_link(story.image, link) if story.image else None,
            author=None,
            language=story.language,
            section=story.section,
            published_at=_not_in_future(story.published_at, now),
            content_hash=content_hash(title, summary),
            edition=edition,
            alternates=_translations(story.translations or {}, edition, link),
        )

    async def store(self, story: StoryIn) -> StoredStory:
        """Store a story straight from the CMS, pushable at once (no feed, no backlog)."""
        now = self._clock()
        draft = self.draft(story, now)
        link = draft.link
        assert link is not None
        fitted = fit_story(draft)
        if fitted.draft is None:
            assert fitted.note is not None and fitted.refused_field is not None
            log.warning("CMS story %s %s", shorten(link, 120), fitted.note)
            raise StoryRefused(fitted.refused_field, fitted.note.removeprefix("refused: "))
        if fitted.note is not None:
            log.warning("CMS story %s: %s", shorten(link, 120), fitted.note)
        async with self._db.writing(), self._db.sessions.begin() as session:
            stored = await story_queries.store_stories(
                session, [fitted.draft], feed_id=None, pushable=True, now=now
            )
            story_id = stored.new_ids[0] if stored.new_ids else None
            if story_id is None:
                story_id = await stats_queries.story_id_for_link(session, link)
        assert story_id is not None
        if stored.new_ids:
            log.info("story %d stored from the CMS: %s", story_id, link)
            self._on_new_stories(len(stored.new_ids))
            self._wake()
        return StoredStory(story_id, bool(stored.new_ids))
