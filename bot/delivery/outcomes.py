"""What Telegram's answer to a send or an edit means for it: the one mapping.

The sender (stories, breaking news, digests), corrections (edits of sent messages) and the
editors' reports all read Telegram's refusals through `outcome_of`, so a chat that blocked
the bot, a 429 or a group that became a supergroup means the same thing to each of them:

- 429: RATE_LIMITED, wait out `retry_after` (everyone pauses); not the message's fault.
- 403 (blocked, kicked, deactivated) and 400s saying the chat or the right to post is gone
  ("chat not found", ...): GONE, the chat is marked inactive.
- 400 with migrate_to_chat_id: MIGRATED, the chat moves to its supergroup id.
- other 400s: REFUSED with Telegram's reason (trying again would not change it).
- timeouts, network errors, 5xx and anything unexpected: TRANSIENT, try again later.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

from bot.outbound.retry import retry_after_seconds

# 400s that mean the bot can no longer post in the chat at all (not a fault of the message).
GONE_REASONS = (
    "chat not found",
    "chat_write_forbidden",
    "have no rights to send",
    "not enough rights",
)


class Verdict(enum.Enum):
    RATE_LIMITED = "rate_limited"
    MIGRATED = "migrated"
    GONE = "gone"
    REFUSED = "refused"
    TRANSIENT = "transient"


@dataclass(frozen=True, slots=True)
class Outcome:
    """A refused request: what to do about it, and the reason recorded with the delivery."""

    verdict: Verdict
    reason: str
    retry_after: float = 0.0
    new_chat_id: int | None = None


def outcome_of(error: Exception) -> Outcome:
    """Telegram's refusal (a PTB error, or anything else a request raised) as an Outcome."""
    if isinstance(error, RetryAfter):
        return Outcome(Verdict.RATE_LIMITED, "429: rate limited", retry_after_seconds(error))
    if isinstance(error, ChatMigrated):
        reason = f"chat migrated to {error.new_chat_id}"
        return Outcome(Verdict.MIGRATED, reason, new_chat_id=error.new_chat_id)
    if isinstance(error, Forbidden):
        return Outcome(Verdict.GONE, f"forbidden: {error.message}")
    if isinstance(error, BadRequest):  # before NetworkError: PTB's BadRequest is one
        reason = f"bad request: {error.message}"
        if any(gone in error.message.lower() for gone in GONE_REASONS):
            return Outcome(Verdict.GONE, reason)
        return Outcome(Verdict.REFUSED, reason)
    if isinstance(error, NetworkError):  # TimedOut, connection errors, 5xx
        return Outcome(Verdict.TRANSIENT, f"{type(error).__name__}: {error.message}")
    return Outcome(Verdict.TRANSIENT, f"{type(error).__name__}: {error}")


# 400s for a send into a forum topic that is no longer there: deleted ("message thread not
# found", also TOPIC_DELETED) or closed (TOPIC_CLOSED). The chat itself is fine: the story
# goes to a recreated topic or to General (bot/delivery/topics.py).
TOPIC_LOST_REASONS = ("message thread not found", "topic_deleted", "topic_closed")


def topic_lost(error: Exception) -> bool:
    """Did Telegram refuse a send because its forum topic is deleted or closed?"""
    return isinstance(error, BadRequest) and any(
        lost in error.message.lower() for lost in TOPIC_LOST_REASONS
    )


def creation_outcome(error: Exception) -> Outcome:
    """A refused createForumTopic. Its 400s ("not enough rights to create a topic", "the chat
    is not a forum") are about topics, never the chat: REFUSED, so the story goes to General,
    where GONE (the chat marked inactive) would stop the chat's every story."""
    if isinstance(error, BadRequest):
        return Outcome(Verdict.REFUSED, f"bad request: {error.message}")
    return outcome_of(error)
