"""Turning a queued delivery into the message for its chat's language (cached per batch).

Stories, breaking news and daily digests alike: a digest is rendered at send time from its
slot (the day, and the stories fixed when the slot was queued) in each chat's language.

A fan-out of one story to ten thousand chats renders it once per language, not per chat
(and once per distinct Related pick for the few chats whose approval or filters narrow it):
hundreds of deliveries asking at once for a message not rendered yet all wait for the one
render in progress (a cache of renders, not of results, so they never each query it).

A chat's own template renders in the sandbox's worker process (bot/outbound/templates.py),
a blocking round trip: such a story is rendered in a thread of `_TEMPLATE_THREADS`, off the
event loop; a story in the standard layout (most chats) is rendered here, as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Awaitable, Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery.audience import Pool, narrowed_chats, pick, pool_of
from bot.delivery.related import RelatedIndex
from bot.domain.breaking import version_for
from bot.domain.channel_rules import DEFAULT_FORMAT, DeskFormat
from bot.domain.editions import reading, reading_order
from bot.domain.filters import DeskFilters
from bot.outbound.bundle import Bundle, render_bundle
from bot.outbound.i18n import Catalogues, language_name
from bot.outbound.lists import render_digest
from bot.outbound.message import OutgoingMessage, RelatedLink, VersionLink
from bot.outbound.render import for_chat, render_breaking, render_story
from bot.outbound.templates import noting_failures
from storage import alerts as alert_queries
from storage import approvals as approval_queries
from storage import digests as digest_queries
from storage import stories as story_queries
from storage import versions as version_queries
from storage.channel_rules import Narrowing
from storage.db import Database
from storage.models import Alert, Story

# The stories a digest lists (the slot keeps more: the top of every edition).
DIGEST_SIZE = 10
# Threads that wait for the sandbox's workers (as many as it has: more would only queue).
_TEMPLATE_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="newsbot-template")


Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


async def _shared(
    tasks: dict[Key, asyncio.Task[Value]], key: Key, make: Callable[[], Awaitable[Value]]
) -> Value:
    """The one task for `key` (started by the first asker, awaited by every other; a failed
    or cancelled one is started again), so a batch's chats share one read or render."""
    task = tasks.get(key)
    if task is None or (task.done() and (task.cancelled() or task.exception())):
        task = asyncio.ensure_future(make())
        tasks[key] = task
    # Shielded: one waiter cancelled (a shutdown) does not cancel the others' work.
    return await asyncio.shield(task)


@dataclass
class Composer:
    database: Database
    settings: Settings
    catalogues: Catalogues
    related: RelatedIndex
    _cache: dict[tuple[Hashable, ...], asyncio.Task[OutgoingMessage | None]] = field(
        default_factory=dict
    )
    _versions: dict[int, str] = field(default_factory=dict)
    _sections: dict[int, str | None] = field(default_factory=dict)
    _alerts: dict[int, asyncio.Task[Alert | None]] = field(default_factory=dict)
    _headlines: dict[int, asyncio.Task[str | None]] = field(default_factory=dict)
    # Why a chat's template failed for a story this batch: {(story id, template): reason}.
    _template_failures: dict[tuple[int, str], str] = field(default_factory=dict)
    # Chats with approval or filters: Related links only from stories they may be shown
    # (bot/delivery/audience.py); who they are and each story's pool, read once per batch.
    _narrowed: dict[None, asyncio.Task[dict[int, Narrowing]]] = field(default_factory=dict)
    _pools: dict[int, asyncio.Task[Pool]] = field(default_factory=dict)
    # Chats' desk filters, shared with the sender, which compiles them off the event loop
    # before each fan-out (Sender._compile_filters): the Related pick finds them compiled.
    filters: DeskFilters = field(default_factory=DeskFilters)

    def language_of(self, language: str | None) -> str:
        return language or self.settings.language

    async def story(
        self,
        story_id: int,
        language: str | None,
        look: DeskFormat = DEFAULT_FORMAT,
        chat: str = "",
        *,
        approval_id: int | None = None,
        chat_id: int | None = None,
    ) -> OutgoingMessage | None:
        """The story in a chat's `look` and interface `language`: rendered once per (story,
        format, language), however many chats share them; a "{chat}" in the format's utm is
        filled in per chat afterwards (`chat`: its @username or id), a string replace.
        Approved at the desk (`approval_id`) with an edited headline: with that headline
        (rendered once per headline, not per chat). A chat with approval or filters
        (`chat_id`) gets Related links only from stories it may be shown, rendered once per
        such pick (bot/delivery/audience.py); every other chat shares the story's own."""
        interface = self.language_of(language)
        headline = await self._headline(approval_id) if approval_id is not None else None
        picks = await self._picks(story_id, chat_id) if look.related else None
        shown = None if picks is None else tuple(item.id for item in picks)
        key = ("story", story_id, interface, look, headline, shown)
        message = await self._cached(
            key,
            lambda: self._render_story(story_id, interface, look, headline=headline, picks=picks),
        )
        if message is not None and look.utm and "{chat}" in look.utm:
            return for_chat(message, chat)
        return message

    async def _picks(self, story_id: int, chat_id: int | None) -> tuple[Story, ...] | None:
        """The Related stories of a chat that approval or filters narrow; None for any
        other chat (they share the story's own pick, and its render)."""
        if chat_id is None:
            return None
        narrowed = await _shared(self._narrowed, None, lambda: narrowed_chats(self.database))
        narrowing = narrowed.get(chat_id)
        if narrowing is None:
            return None
        pool = await _shared(
            self._pools, story_id, lambda: pool_of(self.database, self.related, story_id)
        )
        return pick(pool, narrowing, self.filters)

    async def _headline(self, approval_id: int) -> str | None:
        """The desk's edited headline for an approval (None: the story's own), read once
        per batch however many chats the approval's deliveries go to."""
        return await _shared(self._headlines, approval_id, lambda: self._load_headline(approval_id))

    async def _load_headline(self, approval_id: int) -> str | None:
        async with self.database.sessions() as session:
            return (await approval_queries.headlines(session, [approval_id])).get(approval_id)

    async def alert(
        self,
        alert_id: int,
        language: str | None,
        editions: frozenset[str] = frozenset(),
        *,
        version: str | None = None,
    ) -> OutgoingMessage | None:
        """The alert's version for a chat reading `editions`, in its interface `language`:
        rendered once per (alert, version, interface language). `version`: the one looked up
        for the chat when it was queued (its progress counts it there), kept if the alert
        has it; else picked now."""
        alert = await self._alert(alert_id)
        if alert is None:
            return None
        interface = self.language_of(language)
        if alert.texts and version in alert.texts:
            edition: str | None = version
        else:
            order = reading_order(editions, language, self.settings.editions)
            edition = version_for(alert.texts, order, self.settings.language)
        key = ("alert", alert_id, f"{edition or ''}/{interface}")
        return await self._cached(key, lambda: self._render_alert(alert, edition, interface))

    async def _alert(self, alert_id: int) -> Alert | None:
        """The alert, read once per batch however many chats it goes to."""
        return await _shared(self._alerts, alert_id, lambda: self._load_alert(alert_id))

    async def _load_alert(self, alert_id: int) -> Alert | None:
        async with self.database.sessions() as session:
            return await alert_queries.get(session, alert_id)

    async def digest(
        self, slot: str, language: str | None, editions: frozenset[str] = frozenset()
    ) -> OutgoingMessage | None:
        """The slot's digest for a chat reading `editions` (none known: every edition):
        rendered once per language and edition order."""
        language = self.language_of(language)
        newsroom = self.settings.editions
        # As a chat's lists read: a newsroom of one edition needs no filter.
        order = reading(editions or newsroom, language, newsroom)
        key = ("digest", slot, f"{language}:{','.join(order or ())}")
        return await self._cached(key, lambda: self._render_digest(slot, language, order))

    async def _cached(
        self,
        key: tuple[Hashable, ...],
        render: Callable[[], Awaitable[OutgoingMessage | None]],
    ) -> OutgoingMessage | None:
        return await _shared(self._cache, key, render)

    async def bundle(
        self,
        story_ids: Sequence[int],
        language: str | None,
        delivery_ids: Sequence[int] = (),
        *,
        roundup: bool = False,
        overflow: bool = False,
    ) -> Bundle | None:
        """Several stories for one chat in one message, in its language (bot/outbound/bundle.py):
        a paced chat's "More news" `roundup`, or the stories that waited for a reader's
        turn ("3 new stories"); with `overflow`, what does not fit is counted in a last line.
        None when none of them exists any more. Not cached: each chat's bundle is its own.
        A story the desk approved for the chat with an edited headline (its delivery among
        `delivery_ids`) is listed under that headline, as it would be sent alone."""
        async with self.database.sessions() as session:
            stories = await story_queries.get_stories(session, story_ids)
            edited = await approval_queries.headlines_of_deliveries(session, delivery_ids)
        if not stories:
            return None
        for story in stories:
            if story.id in edited:  # a copy read for this render only: never written back
                story.title = edited[story.id]
        interface = self.language_of(language)
        t = self.catalogues.translator(interface)
        return render_bundle(
            stories,
            title=t("roundup_title") if roundup else t.plural("bundle_title", len(stories)),
            t=t,
            zone=self.settings.zone,
            section_titles={s.slug: s.title_in(interface) for s in self.settings.sections},
            overflow=overflow,
        )

    def version(self, story_id: int) -> str | None:
        """The content hash of the story as last rendered (recorded with each delivery)."""
        return self._versions.get(story_id)

    def section_of(self, story_id: int) -> str | None:
        """The section of a story rendered in this batch (a forum posts it in its topic)."""
        return self._sections.get(story_id)

    def forget(self) -> None:
        self._cache.clear()
        self._versions.clear()
        self._sections.clear()
        self._alerts.clear()
        self._headlines.clear()
        self._template_failures.clear()
        self._narrowed.clear()
        self._pools.clear()

    async def _render_alert(
        self, alert: Alert, edition: str | None, language: str
    ) -> OutgoingMessage | None:
        text = alert.texts[edition] if alert.texts and edition else alert.text
        return render_breaking(text, alert.link, t=self.catalogues.translator(language))

    async def _render_story(
        self,
        story_id: int,
        language: str,
        look: DeskFormat = DEFAULT_FORMAT,
        *,
        headline: str | None = None,
        picks: tuple[Story, ...] | None = None,
    ) -> OutgoingMessage | None:
        async with self.database.sessions() as session:
            found = await story_queries.get_stories(session, [story_id])
            versions = await self._versions_of(session, found[0]) if found else []
        if not found:
            return None
        story = found[0]
        self._versions[story_id] = story.content_hash
        if headline is not None:
            # A copy read for this render only (its session is closed): never written back.
            story.title = headline
        self._sections[story_id] = story.section
        section = self.settings.section(story.section) if story.section else None
        render = functools.partial(
            render_story,
            story,
            t=self.catalogues.translator(language),
            zone=self.settings.zone,
            section_title=section.title_in(language) if section else None,
            related=await self._related_links(story, picks) if look.related else [],
            versions=versions,
            look=look,
        )
        if look.template is None:
            return render()

        def render_noting() -> tuple[OutgoingMessage | None, list[str]]:
            with noting_failures() as failures:
                return render(), failures

        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # as asyncio.to_thread does
        message, failures = await loop.run_in_executor(
            _TEMPLATE_THREADS, context.run, render_noting
        )
        if failures:
            self._template_failures[(story_id, look.template)] = failures[0]
        return message

    def template_failure(self, story_id: int, look: DeskFormat) -> str | None:
        """Why `look`'s template failed for the story (it went out in the standard layout),
        if it did in this batch."""
        if look.template is None:
            return None
        return self._template_failures.get((story_id, look.template))

    async def _related_links(
        self, story: Story, picks: tuple[Story, ...] | None
    ) -> list[RelatedLink]:
        """The "Related" block: a narrowed chat's `picks`, else the story's own pick."""
        chosen = picks if picks is not None else await self.related.related_to(story)
        return [RelatedLink(title=item.title, url=item.link) for item in chosen if item.link]

    async def _versions_of(self, session: AsyncSession, story: Story) -> list[VersionLink]:
        """The story's versions in other editions as they stand now, in the newsroom's order
        of editions (a version that joins the group later shows under later sends only)."""
        if story.group_id is None:
            return []
        order = {edition: index for index, edition in enumerate(self.settings.editions)}
        others = [
            version
            for version in await version_queries.versions_of(session, story.group_id)
            if version.story_id != story.id and version.edition != story.edition
        ]
        others.sort(key=lambda version: order.get(version.edition, len(order)))
        return [VersionLink(language_name(v.edition), v.link) for v in others]

    async def _render_digest(
        self, slot: str, language: str, editions: Sequence[str] | None
    ) -> OutgoingMessage | None:
        """The slot's "<date>. Timeline of major events": its first DIGEST_SIZE groups the
        reader has a version of, each in the reader's first edition that has it; None when
        none is left (or the slot is gone)."""
        async with self.database.sessions() as session:
            found = await digest_queries.get_slot(session, slot)
            groups = list(found.story_ids) if found else []
            chosen = await version_queries.versions(session, groups, editions)
        stories = [chosen[group] for group in groups if group in chosen][:DIGEST_SIZE]
        if found is None or not stories:
            return None
        t = self.catalogues.translator(language)
        zone = self.settings.zone
        day = datetime.combine(date.fromisoformat(found.day), time(12), zone)
        return render_digest(
            t(
                "digest_title",
                date=t.day(day, zone),
                stories=t.plural("stories_count", len(stories)),
            ),
            stories,
            t=t,
            zone=zone,
            section_titles={s.slug: s.title_in(language) for s in self.settings.sections},
        )
