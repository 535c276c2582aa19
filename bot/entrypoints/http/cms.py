"""What the newsroom's CMS can do through the API, without HTTP: the routes parse and answer,
this decides. Breaking news takes the same outbox path as an editor's confirmed /breaking."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.identity import canonical_link, content_hash, story_identity
from bot.feeds.fit import fit_story
from bot.feeds.normalize import FUTURE_TOLERANCE, StoryDraft
from bot.feeds.text import html_to_text, shorten
from storage import alerts as alert_queries
from storage import deliveries as delivery_queries
from storage import stats as stats_queries
from storage import stories as story_queries
from storage.db import Database
from storage.deliveries import Progress
from storage.models import Alert

log = logging.getLogger(__name__)


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


# Breaking news' text: one for every chat, or one per edition ({"kk": "…", "ru": "…"}).
BreakingText = str | dict[str, str]


def _first_and_versions(text: BreakingText) -> tuple[str, dict[str, str] | None]:
    """The alert's `text` (the first version) and `texts` (None for one text for all)."""
    if isinstance(text, str):
        return text, None
    return next(iter(text.values())), dict(text)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before for a different request body."""


class StoryRefused(Exception):
    """The story cannot be stored as it is (bot/feeds/fit.py): `field` and why, for a 422."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BreakingPush:
    id: int
    queued: int
    replayed: bool


@dataclass(frozen=True, slots=True)
class StoryIn:
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


class CmsDesk:
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

    async def breaking(
        self, text: BreakingText, link: str | None, sections: list[str] | None, key: str | None
    ) -> BreakingPush:
        """Create the alert and queue its fan-out in one transaction, once per key.

        A retry with the same key (the CMS timed out, or its job runner repeated) answers the
        first alert's id and the number it queued, and queues nothing.
        """
        try:
            push = await self._create_and_queue(text, link, sections, key)
        except IntegrityError:
            # A concurrent request with the same key won the insert (PostgreSQL).
            assert key is not None
            push = await self._replay(key, text, link, sections)
        if not push.replayed:
            log.info(
                "breaking news %d from the CMS queued for %d chats",
                push.id,
                push.queued,
                extra={"alert_id": push.id, "queued": push.queued},
            )
            self._wake()
        return push

    async def _create_and_queue(
        self, text: BreakingText, link: str | None, sections: list[str] | None, key: str | None
    ) -> BreakingPush:
        now = self._clock()
        async with self._db.writing(), self._db.sessions.begin() as session:
            if key is not None:
                existing = await alert_queries.by_idempotency_key(session, key)
                if existing is not None:
                    return await self._replayed(session, existing, text, link, sections)
            first, versions = _first_and_versions(text)
            alert = await alert_queries.create_sent(
                session,
                text=first,
                texts=versions,
                link=link,
                sections=sections,
                idempotency_key=key,
                source="api",
                now=now,
            )
            if sections:
                queued = await delivery_queries.queue_alert(session, alert.id, now, sections)
            else:
                queued = await delivery_queries.queue_alert(session, alert.id, now)
            return BreakingPush(alert.id, queued, replayed=False)

    async def _replay(
        self, key: str, text: BreakingText, link: str | None, sections: list[str] | None
    ) -> BreakingPush:
        async with self._db.sessions() as session:
            existing = await alert_queries.by_idempotency_key(session, key)
            assert existing is not None
            return await self._replayed(session, existing, text, link, sections)

    async def _replayed(
        self,
        session: AsyncSession,
        alert: Alert,
        text: BreakingText,
        link: str | None,
        sections: list[str] | None,
    ) -> BreakingPush:
        first, versions = _first_and_versions(text)
        sent = (alert.text, alert.texts or None, alert.link, alert.sections or None)
        if sent != (first, versions, link, sections or None):
            raise IdempotencyConflict
        progress = await delivery_queries.alert_progress(session, alert.id)
        total = progress.queued + progress.sending + progress.sent + progress.failed
        return BreakingPush(alert.id, total, replayed=True)

    async def story(self, story: StoryIn) -> StoredStory:
        """Store a story straight from the CMS, pushable at once (no feed, no backlog).

        It is identified by its canonical link, so when the feed later carries the same
        article it is recognised and not pushed twice.
        """
        now = self._clock()
        link = canonical_link(story.url, story.url) or story.url
        title = html_to_text(story.title)
        summary = html_to_text(story.summary)
        edition = self._edition_of(story.language)
        draft = StoryDraft(
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

    async def progress(self, alert_id: int) -> Progress | None:
        async with self._db.sessions() as session:
            if await alert_queries.get(session, alert_id) is None:
                return None
            return await delivery_queries.alert_progress(session, alert_id)
