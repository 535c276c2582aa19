"""Telegram's vocabulary as the fake uses it: update types, which methods send or edit,
how form-encoded parameters are typed, and Telegram's exact error texts.

Kept in one place, as Telegram documents them, so each concern's module reads the same
table; names with a leading underscore are private to this package."""

from __future__ import annotations

import re


def _words(*chunks: str) -> frozenset[str]:
    """A set of names written as space-separated words (keeps long tables readable)."""
    return frozenset(" ".join(chunks).split())


# Update types Telegram delivers when allowed_updates was never set (or set to []).
ALL_UPDATE_TYPES = _words(
    "message edited_message channel_post edited_channel_post business_connection ",
    "business_message edited_business_message deleted_business_messages inline_query ",
    "chosen_inline_result callback_query shipping_query pre_checkout_query ",
    "purchased_paid_media poll poll_answer my_chat_member chat_member ",
    "chat_join_request chat_boost removed_chat_boost message_reaction ",
    "message_reaction_count",
)
DEFAULT_UPDATE_TYPES = ALL_UPDATE_TYPES - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

# Methods that create a message: flood limits and injected failures apply to these.
SEND_METHODS = _words(
    "sendMessage sendPhoto sendDocument sendVideo sendAnimation sendAudio sendVoice ",
    "sendMediaGroup copyMessage forwardMessage",
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
# How long a send that queued an answer_at_once reply holds back its own answer.
ANSWER_AT_ONCE_HOLD = 0.3

# How form-encoded values (PTB sends non-upload requests as form data whose values are
# JSON-dumped unless they are strings) are turned back into typed values, like Telegram
# does from its own knowledge of each parameter's type.
_INT_FIELDS = _words(
    "message_id user_id offset limit timeout cache_time from_chat_id ",
    "message_thread_id until_date max_connections reply_to_message_id",
)
_BOOL_FIELDS = _words(
    "disable_notification protect_content allow_paid_broadcast ",
    "allow_sending_without_reply disable_web_page_preview show_alert ",
    "drop_pending_updates is_personal has_spoiler show_caption_above_media ",
    "for_channels only_if_banned revoke",
)
_JSON_FIELDS = _words(
    "reply_markup entities caption_entities link_preview_options allowed_updates ",
    "commands scope results reply_parameters button media reaction message_ids menu_button",
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice ",
    "upload_document choose_sticker find_location record_video_note ",
    "upload_video_note",
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_BOT_COMMAND_IN_TEXT = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
