"""Whether the bot's handlers can take an update: what each kind of update must carry.

PTB builds an Update from whatever JSON it is given: a message without a chat becomes a
Message whose `chat` is None, and the handler that reads it fails with a traceback. Telegram
never sends such an update, so one that arrives at the webhook is forged, or of a kind this
bot did not ask for; it is dropped at the door with a reason instead (webhook.py).
Pure: no I/O.
"""

from __future__ import annotations

from telegram import Update

# The kinds of update the bot asks Telegram for
# (bot/entrypoints/telegram/application.ALLOWED_UPDATES, which this layer may not import;
# tests check the two agree), and what each must carry
# besides what PTB's de_json already insists on.
REQUIRED: dict[str, tuple[str, ...]] = {
    Update.MESSAGE: ("chat", "date"),
    Update.CALLBACK_QUERY: ("from_user",),
    Update.MY_CHAT_MEMBER: ("chat", "from_user", "old_chat_member", "new_chat_member"),
    Update.MESSAGE_REACTION_COUNT: ("chat", "date"),
    Update.INLINE_QUERY: ("from_user",),
    Update.CHOSEN_INLINE_RESULT: ("from_user",),
}
# A message's sender: a user, or (anonymous admins, channels) a chat; Telegram sends one.
SENDERS = ("from_user", "sender_chat")


def unfit_reason(update: Update) -> str | None:
    """Why the handlers cannot take `update` (short, for a log line), or None if they can."""
    kinds = [kind for kind in REQUIRED if getattr(update, kind, None) is not None]
    if not kinds:
        return "no kind of update this bot takes"
    if len(kinds) > 1:
        return f"more than one kind of update: {', '.join(kinds)}"
    kind = kinds[0]
    content = getattr(update, kind)
    missing = [name for name in REQUIRED[kind] if getattr(content, name, None) is None]
    if kind == Update.MESSAGE and all(getattr(content, name, None) is None for name in SENDERS):
        missing.append("from")
    if missing:
        names = ", ".join("from" if name == "from_user" else name for name in missing)
        return f"{kind} without {names}"
    return None
