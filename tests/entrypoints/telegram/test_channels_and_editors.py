"""Channel admins choose topics (verified with Telegram on every press); editors push
breaking news after a preview and a confirmation; everyone else is refused politely."""

from __future__ import annotations

from storage import destinations
from tests.entrypoints.telegram.conftest import (
    ADMIN,
    CHANNEL,
    EDITOR,
    ENGLISH_READER,
    READER,
    STRANGER,
    Newsroom,
)
from tests.fakes.bot_api import FakeChat
from tests.fakes.conversation import ask, button_data

GROUP = FakeChat(id=-1002000000002, type="supergroup", title="Newsroom readers")


async def _channel(newsroom: Newsroom):  # type: ignore[no-untyped-def]
    async with newsroom.core.database.sessions() as session:
        return await destinations.get_by_chat(session, CHANNEL.id)


async def test_adding_the_bot_registers_the_channel_and_tells_the_admin(newsroom: Newsroom) -> None:
    await ask(newsroom.api, ADMIN, "/start")
    newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
    hint = await newsroom.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)
    assert CHANNEL.title in hint[-1].text
    channel = await _channel(newsroom)
    assert channel is not None and channel.active and channel.breaking


async def _added(newsroom: Newsroom) -> None:
    newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
    await newsroom.api.wait_for(lambda m: m.chat_id == ADMIN.id and "/channels" in m.text)


async def test_admin_toggles_a_channels_sections_after_verification(newsroom: Newsroom) -> None:
    await _added(newsroom)
    listing = await ask(newsroom.api, ADMIN, "/channels")
    assert button_data(listing) == [f"ch:{CHANNEL.id}"]
    newsroom.api.press_button(ADMIN, listing, f"ch:{CHANNEL.id}")
    settings = await newsroom.api.wait_for(lambda m: m.method == "editMessageText")
    assert f"cs:{CHANNEL.id}:parliament" in button_data(settings[-1])
    newsroom.api.press_button(ADMIN, listing, f"cs:{CHANNEL.id}:parliament")
    await newsroom.api.wait_for(lambda m: m.method == "editMessageText", count=2)
    channel = await _channel(newsroom)
    async with newsroom.core.database.sessions() as session:
        assert await destinations.sections_of(session, channel.id) == {"parliament"}


async def test_forged_channel_button_from_a_non_admin_changes_nothing(newsroom: Newsroom) -> None:
    await _added(newsroom)
    listing = await ask(newsroom.api, STRANGER, "/channels")
    assert button_data(listing) == []
    newsroom.api.press_button(STRANGER, listing, f"cs:{CHANNEL.id}:parliament")
    newsroom.api.press_button(STRANGER, listing, f"cb:{CHANNEL.id}")
    await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) >= 2)
    channel = await _channel(newsroom)
    async with newsroom.core.database.sessions() as session:
        assert await destinations.sections_of(session, channel.id) == set()
    assert (await _channel(newsroom)).breaking is True


async def test_demoted_admin_loses_the_channel_at_the_next_press(newsroom: Newsroom) -> None:
    await _added(newsroom)
    listing = await ask(newsroom.api, ADMIN, "/channels")
    newsroom.api.set_member(CHANNEL, ADMIN, "member")
    newsroom.api.press_button(ADMIN, listing, f"cs:{CHANNEL.id}:economy")
    await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) >= 1)
    assert newsroom.api.callback_answers[-1]["show_alert"]
    channel = await _channel(newsroom)
    async with newsroom.core.database.sessions() as session:
        assert await destinations.sections_of(session, channel.id) == set()


async def test_removed_bot_marks_the_channel_inactive_not_deleted(newsroom: Newsroom) -> None:
    await _added(newsroom)  # registered before the removal (updates run concurrently)
    newsroom.api.remove_bot_from_chat(ADMIN, CHANNEL)

    async def inactive() -> bool:
        channel = await _channel(newsroom)
        assert channel is not None  # kept, never deleted
        return not channel.active

    # A generous deadline: on a loaded machine the update can take seconds to be handled.
    await newsroom.api.wait_until(inactive, timeout=30.0)


async def test_group_admin_subscribes_the_group_but_a_member_cannot(newsroom: Newsroom) -> None:
    newsroom.api.add_bot_to_channel(ADMIN, GROUP)
    newsroom.api.set_member(GROUP, READER, "member")
    before = len(newsroom.api.messages_to(GROUP.id))
    newsroom.api.send_message(READER, "/subscribe parliament", chat=GROUP)
    refused = await newsroom.api.wait_for(lambda m: m.chat_id == GROUP.id, count=before + 1)
    newsroom.api.send_message(ADMIN, "/subscribe parliament", chat=GROUP)
    await newsroom.api.wait_for(lambda m: m.chat_id == GROUP.id, count=before + 2)
    async with newsroom.core.database.sessions() as session:
        group = await destinations.get_by_chat(session, GROUP.id)
        assert await destinations.sections_of(session, group.id) == {"parliament"}
    assert refused[-1].text != newsroom.api.messages_to(GROUP.id)[-1].text


async def test_breaking_news_preview_confirm_fan_out_and_report(newsroom: Newsroom) -> None:
    await ask(newsroom.api, ENGLISH_READER, "/subscribe parliament")
    await ask(newsroom.api, READER, "/subscribe economy")
    await ask(newsroom.api, STRANGER, "/start")  # no subscription: no breaking news
    newsroom.api.add_bot_to_channel(ADMIN, CHANNEL)
    newsroom.api.send_message(EDITOR, "/breaking Earthquake felt in Almaty https://www.inform.kz/q")
    messages = await newsroom.api.wait_for(lambda m: m.chat_id == EDITOR.id, count=2)
    preview, confirm = messages[-2], messages[-1]
    assert "Earthquake felt in Almaty" in preview.text
    assert button_data(preview) == ["https://www.inform.kz/q"]
    newsroom.api.press_button(EDITOR, confirm, button_data(confirm)[0])
    await newsroom.api.wait_for(lambda m: m.method == "editMessageText" and m.chat_id == EDITOR.id)
    await newsroom.deliver()
    received = {m.chat_id for m in newsroom.api.sent if "Earthquake" in (m.text or "")}
    assert received == {EDITOR.id, ENGLISH_READER.id, READER.id, CHANNEL.id}
    russian = next(m for m in newsroom.api.messages_to(READER.id) if "Earthquake" in m.text)
    assert "СРОЧНО" in russian.text and russian.disable_notification in (None, False)
    report = newsroom.api.messages_to(EDITOR.id)[-1]
    assert "3" in report.text
    # A second press (or a replayed callback) sends nothing more.
    newsroom.api.press_button(EDITOR, confirm, button_data(confirm)[0])
    await newsroom.api.wait_until(lambda: len(newsroom.api.callback_answers) >= 2)
    await newsroom.deliver()
    assert len([m for m in newsroom.api.sent if "Earthquake" in (m.text or "")]) == 4


async def test_non_editor_is_refused_and_nothing_is_sent(newsroom: Newsroom) -> None:
    await ask(newsroom.api, ENGLISH_READER, "/subscribe parliament")
    reply = await ask(newsroom.api, STRANGER, "/breaking Fake news")
    assert "Fake news" not in reply.text
    await newsroom.deliver()
    assert not [m for m in newsroom.api.sent if "Fake news" in (m.text or "")]


async def test_cancelled_breaking_news_is_not_sent(newsroom: Newsroom) -> None:
    await ask(newsroom.api, ENGLISH_READER, "/subscribe parliament")
    newsroom.api.send_message(EDITOR, "/breaking Draft only")
    messages = await newsroom.api.wait_for(lambda m: m.chat_id == EDITOR.id, count=2)
    newsroom.api.press_button(EDITOR, messages[-1], button_data(messages[-1])[1])
    await newsroom.api.wait_for(lambda m: m.method == "editMessageText")
    await newsroom.deliver()
    assert [m.chat_id for m in newsroom.api.sent if "Draft only" in (m.text or "")] == [EDITOR.id]


async def test_editors_see_why_deliveries_failed(newsroom: Newsroom) -> None:
    await ask(newsroom.api, ENGLISH_READER, "/subscribe parliament")
    await ask(newsroom.api, READER, "/subscribe economy")
    quiet_day = (await ask(newsroom.api, EDITOR, "/failures")).text
    assert "—" not in quiet_day
    newsroom.api.send_message(EDITOR, "/breaking Storm warning for Astana")
    # The /failures reply, the preview, then the confirmation with its buttons.
    messages = await newsroom.api.wait_for(lambda m: m.chat_id == EDITOR.id, count=3)
    newsroom.api.press_button(EDITOR, messages[-1], button_data(messages[-1])[0])
    await newsroom.api.wait_for(lambda m: m.method == "editMessageText" and m.chat_id == EDITOR.id)
    # Telegram refuses one copy with a 400 that no retry can fix.
    newsroom.api.inject_failures(status=400, ratio=1.0, count=1)
    await newsroom.deliver_all()
    await newsroom.api.wait_until(
        lambda: "injected" in newsroom.api.messages_to(EDITOR.id)[-1].text.lower()
    )
    report = newsroom.api.messages_to(EDITOR.id)[-1].text.lower()
    assert "bad request: injected failure — 1" in report
    assert "breaking news report" not in report  # in the editor's own language (Kazakh)
    listing = (await ask(newsroom.api, EDITOR, "/failures")).text.lower()
    assert "bad request: injected failure — 1" in listing
    refused = (await ask(newsroom.api, STRANGER, "/failures")).text
    assert "injected failure" not in refused
    assert (await ask(newsroom.api, EDITOR, "/failures")).text != quiet_day
