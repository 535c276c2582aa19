"""Forum topics at send time: the thread each story takes in a forum supergroup.

A section's stories go to its topic (storage/topics.py): the one the config or an admin
picked, or one the bot creates (createForumTopic, named after the section's title in the
chat's edition) the first time a story of the section comes and the bot may manage topics.
Without that right and with no pick, they go to General (no message_thread_id). Breaking
news goes to General unless the chat's rules name a topic for it; digests go to General.

A topic is created once however many stories of its section are in flight: they wait on one
lock per (chat, section), and the first one's creation is read back from storage by the
rest. A topic Telegram says is deleted or closed is recreated once; if it goes again (or
cannot be recreated), storage sends the section to General and the admin who added the bot
is told in their private chat, else the chat's other administrators who have one with the
bot (logged when there is none).

Only forum chats come here: the sender's path for every other chat is untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot

from bot.config import Settings
from bot.delivery.notices import AdminNotices
from bot.delivery.outcomes import Verdict, creation_outcome, topic_lost
from bot.domain.outbox import DeliveryJob
from bot.outbound.i18n import Catalogues
from bot.outbound.retry import NO_RETRY
from bot.outbound.send import Sent, create_topic
from storage import topics as topic_queries
from storage.db import Database
from storage.topics import ForumChat, Topic

log = logging.getLogger(__name__)

# A send meets a lost topic, the topic is recreated, and the new one is lost as well: after
# these tries the story goes to General.
MAX_TOPIC_TRIES = 3

Send = Callable[[int | None], Awaitable[Sent]]


class ForumTopics:
    """The forum chats of the batches in flight, and their topics' creation."""

    def __init__(
        self,
        database: Database,
        bot: Bot,
        settings: Settings,
        catalogues: Catalogues,
        clock: Callable[[], datetime],
    ) -> None:
        self._db = database
        self._bot = bot
        self._settings = settings
        self._catalogues = catalogues
        self._clock = clock
        self._chats: dict[int, ForumChat] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._notices = AdminNotices(database, bot, settings.language)

    async def load(self, session: AsyncSession, jobs: Sequence[DeliveryJob]) -> None:
        """The claimed batch's forum chats and their topics, in one query (none when the
        batch has no forum chat)."""
        forums = {job.destination_id for job in jobs if job.forum}
        if forums:
            self._chats.update(await topic_queries.forum_chats(session, forums))

    async def send(self, job: DeliveryJob, section: str | None, send: Send) -> Sent:
        """Send into the job's topic; a topic found lost is recreated once, else General."""
        thread = await self._thread_for(job, section)
        for _ in range(MAX_TOPIC_TRIES):
            try:
                return await send(thread)
            except Exception as exc:
                if thread is None or not topic_lost(exc):
                    raise
                log.info("chat %s: topic %s is gone (%s)", job.chat_id, thread, exc)
            thread = await self._lost(job, section, thread)
        return await send(None)

    async def _thread_for(self, job: DeliveryJob, section: str | None) -> int | None:
        chat = self._chats.get(job.destination_id)
        if chat is None:
            return None
        if job.alert_id is not None:
            return chat.breaking_topic
        if job.story_id is None or section is None:
            return None
        topic = chat.topics.get(section)
        if topic is not None and (topic.general or topic.thread_id is not None):
            return topic.usable
        if not chat.can_manage_topics:
            return None
        return await self._create(job, section)

    def _lock(self, destination_id: int, section: str) -> asyncio.Lock:
        return self._locks.setdefault((destination_id, section), asyncio.Lock())

    async def _create(
        self, job: DeliveryJob, section: str, replacing: int | None = None
    ) -> int | None:
        """The section's topic, created unless storage already has one set meanwhile."""
        async with self._lock(job.destination_id, section):
            async with self._db.sessions() as session:
                topic = await topic_queries.topic_of(session, job.destination_id, section)
                language = await topic_queries.naming_language(session, job.destination_id)
            if topic is not None and topic.thread_id != replacing:
                self._remember(job.destination_id, topic)
                return topic.usable
            if topic is not None and topic.general:
                return None
            name = self._title(section, language)
            try:
                thread = await create_topic(self._bot, job.chat_id, name, rate_limit_args=NO_RETRY)
            except Exception as exc:
                return await self._not_created(job, section, exc, lost=replacing is not None)
            now = self._clock()
            async with self._db.writing(), self._db.sessions.begin() as session:
                await topic_queries.record_created(
                    session, job.destination_id, section, thread, name, now, replacing=replacing
                )
            self._remember(
                job.destination_id,
                Topic(section, thread, topic_queries.CREATED, replacing is not None, name),
            )
            log.info("chat %s: created topic %s (%s) for %s", job.chat_id, thread, name, section)
            return thread

    async def _not_created(
        self, job: DeliveryJob, section: str, error: Exception, *, lost: bool
    ) -> None:
        """createForumTopic refused: without the right (or no longer a forum) the section
        goes to General; a 429, 5xx or a gone chat is the delivery's to handle, as a send's."""
        outcome = creation_outcome(error)
        if outcome.verdict is not Verdict.REFUSED:
            raise error
        log.warning("chat %s: cannot create a topic (%s)", job.chat_id, outcome.reason)
        not_forum = "not a forum" in outcome.reason.lower()
        async with self._db.writing(), self._db.sessions.begin() as session:
            await topic_queries.set_forum(
                session,
                job.chat_id,
                is_forum=False if not_forum else None,
                can_manage_topics=False,
            )
            if lost:
                await topic_queries.give_up(session, job.destination_id, section, self._clock())
        self._chats.pop(job.destination_id, None)
        if lost:
            await self._notify(job, "topic_lost", section)
        return None

    async def _lost(self, job: DeliveryJob, section: str | None, thread: int) -> int | None:
        """Telegram says `thread` is deleted or closed: what storage decides instead."""
        if job.alert_id is not None or section is None:
            await self._notify(job, "breaking_topic_lost", None)
            return None
        async with self._db.writing(), self._db.sessions.begin() as session:
            fate = await topic_queries.topic_lost(
                session, job.destination_id, section, thread, self._clock()
            )
            topic = await topic_queries.topic_of(session, job.destination_id, section)
        if topic is not None:
            self._remember(job.destination_id, topic)
        if fate.recreate:
            return await self._create(job, section, replacing=thread)
        if fate.notify:
            await self._notify(job, "topic_lost", section)
        return fate.thread_id

    def _remember(self, destination_id: int, topic: Topic) -> None:
        chat = self._chats.get(destination_id)
        if chat is not None:
            chat.topics[topic.section] = topic

    def _title(self, section: str, language: str | None) -> str:
        config = self._settings.section(section)
        return config.title_in(language or self._settings.language) if config else section

    async def _notify(self, job: DeliveryJob, key: str, section: str | None) -> None:
        """Tell the chat's admins (bot/delivery/notices.py), each in their language."""

        def notice(language: str, title: str) -> str:
            t = self._catalogues.translator(language)
            return t(key, section=self._title(section, language) if section else "", title=title)

        await self._notices.tell(job.destination_id, job.chat_id, notice)
