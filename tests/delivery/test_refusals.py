"""Corrections and editors' reports read Telegram's refusals as the sender does."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage import destinations
from tests.delivery.conftest import BACKLOG, NOW
from tests.entrypoints.telegram.conftest import EDITOR, ENGLISH_READER, Newsroom
from tests.fakes.rss import Item, rss


def publish(newsroom: Newsroom, item: Item, version: str) -> None:
    newsroom.feeds.add("/en.xml", rss([item, BACKLOG]), etag=f'"{version}"')


async def test_a_correction_refused_with_403_deactivates_the_chat(
    paced_newsroom: Newsroom,
) -> None:
    newsroom = paced_newsroom
    async with newsroom.core.database.sessions.begin() as session:
        reader = await destinations.ensure_destination(
            session,
            destinations.ChatInfo(chat_id=ENGLISH_READER.id, kind="private", editions=("en",)),
            NOW,
        )
        await destinations.subscribe(session, reader.id, "parliament", NOW)
    publish(newsroom, Item("fix", "Senat adopts the law", NOW - timedelta(minutes=1)), "v2")
    await newsroom.poll()
    await newsroom.deliver_all()
    assert [m for m in newsroom.api.messages_to(ENGLISH_READER.id) if "Senat" in m.text]
    newsroom.api.block(ENGLISH_READER.id)
    publish(newsroom, Item("fix", "Senate adopts the law", NOW - timedelta(minutes=1)), "v3")
    await newsroom.poll()
    await newsroom.deliver()  # the correction meets "bot was blocked by the user"
    async with newsroom.core.database.sessions() as session:
        gone = await destinations.get_by_chat(session, ENGLISH_READER.id)
    assert gone is not None and not gone.active
    reason = gone.inactive_reason or ""
    assert reason.startswith("forbidden: ") and "blocked by the user" in reason


async def test_a_report_that_meets_a_502_is_sent_at_the_next_tick(
    paced_newsroom: Newsroom,
) -> None:
    """Nobody takes this breaking news, so the report is due at once; Telegram answers its
    first try with 502 (network trouble, as for any send): the next tick sends it."""
    newsroom = paced_newsroom
    api = newsroom.api
    api.send_message(EDITOR, "/breaking Storm warning for Astana")
    messages = await api.wait_for(lambda m: m.chat_id == EDITOR.id, count=2)
    confirm = messages[-1]
    api.press_button(EDITOR, confirm, confirm.callback_data[0])
    await api.wait_for(lambda m: m.method == "editMessageText" and m.chat_id == EDITOR.id)
    before = len(api.messages_to(EDITOR.id))
    await asyncio.sleep(1.0)  # the editor's chat is paced to a message a second
    api.inject_failures(status=502, ratio=1.0, count=1)
    await newsroom.deliver()
    assert api.failures_injected == 1 and len(api.messages_to(EDITOR.id)) == before
    await newsroom.deliver()
    assert len(api.messages_to(EDITOR.id)) == before + 1
