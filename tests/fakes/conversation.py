"""Playing a Telegram user against the fake Bot API: send a command, read the reply."""

from __future__ import annotations

from tests.fakes.bot_api import FakeBotAPI, FakeUser


async def ask(api: FakeBotAPI, user: FakeUser, text: str):  # type: ignore[no-untyped-def]
    """Send a command as the user and return the bot's next reply in that chat."""
    before = len(api.messages_to(user.id))
    api.send_message(user, text)
    replies = await api.wait_for(lambda m: m.chat_id == user.id, count=before + 1)
    return replies[-1]


def button_data(message) -> list[str]:  # type: ignore[no-untyped-def]
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [button.get("callback_data") or button.get("url") for row in rows for button in row]


async def subscribe(api: FakeBotAPI, user, slug: str) -> None:  # type: ignore[no-untyped-def]
    before = len(api.messages_to(user.id))
    api.send_message(user, f"/subscribe {slug}")
    await api.wait_for(lambda m: m.chat_id == user.id, count=before + 1)
