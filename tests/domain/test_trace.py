"""Why a chat did or did not get a story (bot/domain/trace.py), from plain facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.trace import ChatFacts, Outcome, StoryFacts, classify, trace

NOW = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
STORY = StoryFacts(
    id=7,
    headline="Senate ratifies the water treaty",
    section="parliament",
    edition="en",
    published_at=NOW,
    pushable=True,
    fanned_out_at=NOW,
)
CHAT = ChatFacts(chat_id=42, kind="private", title=None, active=True, inactive_reason=None)


def outcome(chat: ChatFacts, story: StoryFacts = STORY) -> tuple[Outcome, str | None]:
    found = classify(story, chat, NOW)
    return found.outcome, found.reason


def test_outbox_rows() -> None:
    sent = replace(CHAT, status="sent", sent_at=NOW)
    assert outcome(sent) == (Outcome.SENT, None)
    assert classify(STORY, sent, NOW).at == NOW
    assert outcome(replace(sent, message_rows=3)) == (Outcome.BUNDLED, "one message with 2 more")
    assert outcome(replace(CHAT, status="queued")) == (Outcome.WAITING, None)
    retry = replace(CHAT, status="queued", last_error="TimedOut: x", next_attempt_at=NOW)
    assert outcome(retry) == (Outcome.WAITING, "TimedOut: x")
    held = replace(CHAT, status="queued", roundup=True, next_attempt_at=NOW + timedelta(hours=1))
    assert outcome(held)[0] is Outcome.HELD
    # A held row that is due is just waiting for the sender.
    assert outcome(replace(held, next_attempt_at=NOW))[0] is Outcome.WAITING
    assert outcome(replace(CHAT, status="sending"))[0] is Outcome.WAITING
    assert outcome(replace(CHAT, status="awaiting")) == (Outcome.AWAITING_APPROVAL, None)
    skipped = replace(CHAT, status="skipped", last_error="approval expired")
    assert outcome(skipped) == (Outcome.SKIPPED, "approval expired")
    failed = replace(CHAT, status="failed", last_error="bad request: message is too long")
    assert outcome(failed) == (Outcome.FAILED, "bad request: message is too long")
    gone = replace(failed, last_error="forbidden: bot was blocked by the user", active=False)
    assert outcome(gone) == (Outcome.BLOCKED, "forbidden: bot was blocked by the user")


def test_chats_without_a_row() -> None:
    assert outcome(replace(CHAT, other_version=8))[0] is Outcome.SKIPPED
    assert "story 8" in (outcome(replace(CHAT, other_version=8))[1] or "")
    inactive = replace(CHAT, active=False, inactive_reason="forbidden: kicked")
    assert outcome(inactive) == (Outcome.BLOCKED, "forbidden: kicked")
    assert outcome(replace(CHAT, filtered=True))[0] is Outcome.FILTERED_OUT
    assert outcome(CHAT, replace(STORY, fanned_out_at=None)) == (Outcome.WAITING, "not queued yet")
    assert outcome(CHAT, replace(STORY, pushable=False))[0] is Outcome.SKIPPED
    assert outcome(CHAT)[0] is Outcome.SKIPPED  # subscribed after it went out


def test_counts_are_complete_and_the_list_keeps_rare_outcomes() -> None:
    chats = [replace(CHAT, chat_id=n, status="sent") for n in range(100)]
    chats += [replace(CHAT, chat_id=1000 + n, status="failed", last_error="x") for n in range(3)]
    chats.append(replace(CHAT, chat_id=2000, filtered=True))
    found = trace(STORY, chats, NOW, limit=10)
    assert found.counts == {Outcome.SENT: 100, Outcome.FILTERED_OUT: 1, Outcome.FAILED: 3}
    assert list(found.counts) == [Outcome.SENT, Outcome.FILTERED_OUT, Outcome.FAILED]
    assert found.truncated and len(found.chats) == 10
    listed = [chat.outcome for chat in found.chats]
    assert listed == [Outcome.SENT] * 6 + [Outcome.FILTERED_OUT] + [Outcome.FAILED] * 3
    whole = trace(STORY, chats, NOW, limit=500)
    assert not whole.truncated and len(whole.chats) == 104
    assert trace(STORY, [], NOW, limit=10).counts == {}
