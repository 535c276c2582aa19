"""Why a chat did or did not get a story (bot/domain/trace.py), from plain facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.domain.trace import (
    ChatFacts,
    Facts,
    Outcome,
    StoryFacts,
    classify,
    delivery_outcome,
    listing_quota,
    outcome_of,
    trace,
)

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
CHAT = ChatFacts(chat_id=42, kind="private", title=None, facts=Facts())


def outcome(chat: ChatFacts, story: StoryFacts = STORY) -> tuple[Outcome, str | None]:
    found = classify(story, chat)
    return found.outcome, found.reason


def row(status: str, **facts: bool) -> ChatFacts:
    return replace(CHAT, facts=Facts(status=status, **facts))


def test_outbox_rows() -> None:
    sent = replace(row("sent"), sent_at=NOW)
    assert outcome(sent) == (Outcome.SENT, None)
    assert classify(STORY, sent).at == NOW
    bundled = replace(row("sent", bundled=True), message_rows=3)
    assert outcome(bundled) == (Outcome.BUNDLED, "one message with 2 more")
    assert outcome(row("queued")) == (Outcome.WAITING, None)
    retry = replace(row("queued"), last_error="TimedOut: x", next_attempt_at=NOW)
    assert outcome(retry) == (Outcome.WAITING, "TimedOut: x")
    assert classify(STORY, retry).at == NOW
    held = replace(row("queued", held=True), next_attempt_at=NOW)
    assert outcome(held) == (Outcome.HELD, "the chat's pace or quiet hours")
    assert outcome(row("sending"))[0] is Outcome.WAITING
    assert outcome(row("awaiting")) == (Outcome.AWAITING_APPROVAL, None)
    skipped = replace(row("skipped"), last_error="approval expired")
    assert outcome(skipped) == (Outcome.SKIPPED, "approval expired")
    failed = replace(row("failed"), last_error="bad request: message is too long")
    assert outcome(failed) == (Outcome.FAILED, "bad request: message is too long")
    gone = replace(row("failed", active=False), last_error="forbidden: bot was blocked")
    assert outcome(gone) == (Outcome.BLOCKED, "forbidden: bot was blocked")
    assert outcome(row("lost")) == (Outcome.FAILED, "unknown status lost")


def test_a_delivery_reads_as_in_the_trace_without_its_story() -> None:
    """A chat's history classifies its outbox rows alone, in the trace's words."""
    for chat in (
        replace(row("sent"), sent_at=NOW),
        replace(row("sent", bundled=True), message_rows=3),
        replace(row("queued", held=True), next_attempt_at=NOW),
        replace(row("failed"), last_error="bad request: message is too long"),
        replace(row("failed", active=False), last_error="forbidden: bot was blocked"),
        replace(row("skipped"), last_error="approval expired"),
    ):
        found = classify(STORY, chat)
        assert delivery_outcome(chat) == (found.outcome, found.reason, found.at)
    with pytest.raises(ValueError):
        delivery_outcome(CHAT)


def test_chats_without_a_row() -> None:
    version = replace(CHAT, facts=Facts(other_version=True), other_version=8)
    assert outcome(version) == (Outcome.SKIPPED, "got another version of it (story 8)")
    inactive = replace(CHAT, facts=Facts(active=False), inactive_reason="forbidden: kicked")
    assert outcome(inactive) == (Outcome.BLOCKED, "forbidden: kicked")
    filtered = replace(CHAT, facts=Facts(filtered=True))
    assert outcome(filtered) == (Outcome.FILTERED_OUT, "the chat's desk filters leave it out")
    assert outcome(CHAT, replace(STORY, fanned_out_at=None)) == (Outcome.WAITING, "not queued yet")
    backlog = outcome(CHAT, replace(STORY, pushable=False))
    assert backlog == (Outcome.SKIPPED, "backlog from the feed's first poll: never pushed")
    assert outcome(CHAT)[0] is Outcome.SKIPPED  # subscribed after it went out


def test_the_outcome_depends_on_the_facts_alone() -> None:
    assert outcome_of(STORY, Facts(status="sent")) is Outcome.SENT
    assert outcome_of(STORY, Facts(status="failed", active=False)) is Outcome.BLOCKED
    assert outcome_of(STORY, Facts(filtered=True, active=False)) is Outcome.BLOCKED


def test_counts_are_complete_and_the_list_keeps_rare_outcomes() -> None:
    sent, failed, filtered = Facts(status="sent"), Facts(status="failed"), Facts(filtered=True)
    counts = {sent: 100_000, failed: 3, filtered: 1}
    samples = [replace(CHAT, chat_id=n, facts=sent) for n in range(10)]
    samples += [replace(CHAT, chat_id=1000 + n, facts=failed, last_error="x") for n in range(3)]
    samples.append(replace(CHAT, chat_id=2000, facts=filtered))
    found = trace(STORY, counts, samples, limit=10)
    assert found.counts == {Outcome.SENT: 100_000, Outcome.FILTERED_OUT: 1, Outcome.FAILED: 3}
    assert list(found.counts) == [Outcome.SENT, Outcome.FILTERED_OUT, Outcome.FAILED]
    assert found.truncated and len(found.chats) == 10
    listed = [chat.outcome for chat in found.chats]
    assert listed == [Outcome.SENT] * 6 + [Outcome.FILTERED_OUT] + [Outcome.FAILED] * 3
    few = trace(STORY, {sent: 10, failed: 3, filtered: 1}, samples, limit=500)
    assert not few.truncated and len(few.chats) == 14
    assert trace(STORY, {}, [], limit=10).counts == {}


def test_the_listing_quota_asks_storage_for_each_facts_group_s_share() -> None:
    """Storage reads exactly these many chats of each facts group: rare outcomes in full,
    an outcome's share split among the facts groups that lead to it, `limit` in all."""
    sent, bundled = Facts(status="sent"), Facts(status="sent", bundled=True)
    failed, blocked = Facts(status="failed"), Facts(status="failed", active=False)
    gone, version = Facts(active=False), Facts(other_version=True)
    counts = {sent: 97_000, bundled: 40, failed: 5, blocked: 1_900, gone: 1_000, version: 2}
    quota = listing_quota(STORY, counts, limit=100)
    assert sum(quota.values()) == 100
    assert all(quota[facts] <= counts[facts] for facts in quota)
    # Failed (5) and skipped (2) are listed in full; blocked is shared by its two groups.
    assert quota[failed] == 5 and quota[version] == 2
    assert quota[blocked] + quota[gone] == 31 and min(quota[blocked], quota[gone]) == 15
    assert quota[sent] + quota[bundled] == 31 + 31 and quota[bundled] == 31
    assert listing_quota(STORY, counts, limit=0) == {}
    assert listing_quota(STORY, {sent: 3}, limit=500) == {sent: 3}
