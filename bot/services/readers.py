"""Readers and their chats: who they are, their language, the sections they take."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.config import Settings
from bot.outbound.i18n import pick_language
from storage import destinations as destination_queries
from storage import editions as edition_queries
from storage.db import Database
from storage.destinations import ChatInfo
from storage.models import Destination


@dataclass(frozen=True, slots=True)
class ChatState:
    """A chat as the handlers need it: its destination, language and sections."""

    destination_id: int
    language: str
    sections: frozenset[str]
    breaking: bool
    # The newsroom editions the chat reads (at least one once registered).
    editions: frozenset[str] = frozenset()


class EditionToggle(StrEnum):
    """What pressing an edition's toggle did."""

    ON = "on"
    OFF = "off"
    # Refused: it was the chat's last edition, and a chat reads at least one.
    LAST = "last"


# Why a chat's editions may not be emptied (a press on its last one, or an empty list).
AT_LEAST_ONE_EDITION = "a chat reads at least one edition"


class Readers:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._settings = settings
        self._clock = clock

    def is_section(self, slug: str) -> bool:
        return self._settings.section(slug) is not None

    async def state(
        self, chat_id: int, kind: str, title: str | None = None, user_language: str | None = None
    ) -> ChatState:
        """The chat's state, registering it on first contact with its user's language.

        The common case (a known, active chat) is a read only: commands never queue behind
        the sender for SQLite's single writer.
        """
        async with self._db.sessions() as session:
            destination = await destination_queries.get_by_chat(session, chat_id)
            if destination is not None and destination.active:
                sections = await destination_queries.sections_of(session, destination.id)
                editions = await edition_queries.editions_of(session, destination.id)
                return self._state(destination, sections, editions)
        return await self._register(chat_id, kind, title, user_language)

    async def reachable(self, chat_id: int, user_language: str | None) -> None:
        """A private chat that sent a command can be written to: registered (or active
        again) if it is not, so notices about its user's chats reach them (a forum topic
        that fell back to General) even when they only ever used /channels. One read
        when it is known already."""
        async with self._db.sessions() as session:
            destination = await destination_queries.get_by_chat(session, chat_id)
        if destination is None or not destination.active:
            await self._register(chat_id, "private", None, user_language)

    async def _register(
        self, chat_id: int, kind: str, title: str | None, user_language: str | None
    ) -> ChatState:
        """First contact, or a reader who blocked the bot and came back: sending works again."""
        language = pick_language(user_language, self._settings.language)
        info = ChatInfo(
            chat_id=chat_id,
            kind=kind,
            title=title,
            language=language,
            editions=(self.edition_for(language),),
        )
        async with self._db.writing(), self._db.sessions.begin() as session:
            destination = await destination_queries.get_by_chat(session, chat_id)
            if destination is None or kind == "private":
                destination = await destination_queries.ensure_destination(
                    session, info, self._clock()
                )
            sections = await destination_queries.sections_of(session, destination.id)
            editions = await edition_queries.editions_of(session, destination.id)
        return self._state(destination, sections, editions)

    def _state(self, destination: Destination, sections: set[str], editions: set[str]) -> ChatState:
        return ChatState(
            destination_id=destination.id,
            language=destination.language or self._settings.language,
            sections=frozenset(sections),
            breaking=destination.breaking,
            editions=frozenset(editions),
        )

    def edition_for(self, language: str | None) -> str:
        """The edition a new chat reads: its interface language's, else the newsroom's."""
        return self._settings.edition_of(language)

    async def language_of(self, chat_id: int, user_language: str | None) -> str:
        """The chat's chosen language without registering anything (for one-off replies)."""
        async with self._db.sessions() as session:
            destination = await destination_queries.get_by_chat(session, chat_id)
        if destination is not None and destination.language:
            return destination.language
        return pick_language(user_language, self._settings.language)

    async def has_private_chat(self, user_id: int) -> bool:
        """Has this user a private chat with the bot that it may write to (started, not
        blocked)? Answers meant for one person go there, never into a shared chat."""
        async with self._db.sessions() as session:
            destination = await destination_queries.get_by_chat(session, user_id)
        return destination is not None and destination.kind == "private" and destination.active

    async def subscribe(self, state: ChatState, slug: str) -> bool:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await destination_queries.subscribe(
                session, state.destination_id, slug, self._clock()
            )

    async def unsubscribe(self, state: ChatState, slug: str) -> bool:
        async with self._db.writing(), self._db.sessions.begin() as session:
            return await destination_queries.unsubscribe(session, state.destination_id, slug)

    async def toggle(self, state: ChatState, slug: str) -> bool:
        """Flip one section; True when the chat is now subscribed to it."""
        if slug in state.sections:
            await self.unsubscribe(state, slug)
            return False
        await self.subscribe(state, slug)
        return True

    def sections(self, language: str) -> list[tuple[str, str]]:
        """The newsroom's sections as (slug, title in `language`), in the config's order."""
        return [(section.slug, section.title_in(language)) for section in self._settings.sections]

    def sections_in(self, slugs: Iterable[str]) -> frozenset[str]:
        """The sections `slugs` name (ValueError with the reason for one that is none)."""
        found = frozenset(slugs)
        for slug in sorted(found):
            if not self.is_section(slug):
                raise ValueError(f"{slug} is not a section")
        return found

    async def set_sections(self, state: ChatState, slugs: Iterable[str]) -> frozenset[str]:
        """The chat takes exactly these sections (the console's form: the whole list at once,
        as many toggles would leave it), in one write; ValueError for one that is none."""
        wanted = self.sections_in(slugs)
        async with self._db.writing(), self._db.sessions.begin() as session:
            now = await destination_queries.sections_of(session, state.destination_id)
            for slug in sorted(now - wanted):
                await destination_queries.unsubscribe(session, state.destination_id, slug)
            for slug in sorted(wanted - now):
                await destination_queries.subscribe(
                    session, state.destination_id, slug, self._clock()
                )
        return wanted

    async def set_language(self, state: ChatState, language: str) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await destination_queries.set_language(session, state.destination_id, language)

    async def set_breaking(self, state: ChatState, enabled: bool) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await destination_queries.set_breaking(session, state.destination_id, enabled)

    @property
    def editions(self) -> tuple[str, ...]:
        """The newsroom's editions, in its order of preference."""
        return tuple(self._settings.editions)

    def is_edition(self, code: str | None) -> bool:
        return code is not None and code in self._settings.editions

    def editions_in(self, codes: Iterable[str]) -> list[str]:
        """The editions `codes` name, in the newsroom's order of preference (ValueError with
        the reason: one that is none, or none at all, as `toggle_edition` refuses the last)."""
        found = set(codes)
        for code in sorted(found):
            if not self.is_edition(code):
                raise ValueError(f"{code} is not an edition")
        if not found:
            raise ValueError(AT_LEAST_ONE_EDITION)
        return self._ordered(found)

    def _ordered(self, editions: set[str]) -> list[str]:
        return [code for code in self._settings.editions if code in editions]

    async def set_editions(self, state: ChatState, codes: Iterable[str]) -> list[str]:
        """The chat reads exactly these editions (the console's form: the whole list at
        once); ValueError as `editions_in` says."""
        ordered = self.editions_in(codes)
        async with self._db.writing(), self._db.sessions.begin() as session:
            await edition_queries.set_editions(session, state.destination_id, ordered)
        return ordered

    async def read_only(self, state: ChatState, edition: str) -> None:
        """The chat reads this one edition and no other (`/editions ru`, `start=ru`)."""
        if not self.is_edition(edition):
            raise ValueError(f"not an edition: {edition!r}")
        async with self._db.writing(), self._db.sessions.begin() as session:
            await edition_queries.set_editions(session, state.destination_id, [edition])

    async def toggle_edition(self, state: ChatState, edition: str) -> EditionToggle:
        """Flip one edition for the chat, unless it is the last one it reads.

        Decided on the rows inside the write (not on `state`, which may be a press old), so
        two quick presses can never leave a chat reading nothing.
        """
        if not self.is_edition(edition):
            raise ValueError(f"not an edition: {edition!r}")
        async with self._db.writing(), self._db.sessions.begin() as session:
            reading = await edition_queries.editions_of(session, state.destination_id)
            if edition in reading:
                if not reading - {edition}:
                    return EditionToggle.LAST
                reading.discard(edition)
                outcome = EditionToggle.OFF
            else:
                reading.add(edition)
                outcome = EditionToggle.ON
            await edition_queries.set_editions(
                session, state.destination_id, self._ordered(reading)
            )
        return outcome
