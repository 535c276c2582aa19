"""What editors are told about their breaking news (how many chats it reached, per version,
and Telegram's reasons for the chats it did not) and about a feed that fails for long (down,
then back). Escaped HTML text; no Telegram calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from html import escape
from typing import Protocol

from bot.outbound.i18n import Translator
from bot.outbound.text_limits import cut_utf16

# Telegram's error texts are short; a longer one is cut so ten reasons always fit one message.
REASON_LIMIT = 200


class FailureLike(Protocol):
    reason: str
    count: int


def render_breaking_report(
    delivered: int,
    failed: int,
    queued: int,
    reasons: Sequence[FailureLike],
    *,
    t: Translator,
    by_edition: Sequence[tuple[str, int]] = (),
) -> str:
    """The editor's report on their breaking news: counts, then (for news in versions) the
    chats each version reached ("• Қазақша — 35 chats"), then Telegram's reasons."""
    text = escape(
        t(
            "breaking_report",
            delivered=t.plural("chats_count", delivered),
            failed=t.plural("chats_count", failed),
            queued=t.plural("chats_count", queued),
        ),
        quote=False,
    )
    if by_edition:
        lines = [
            f"• {escape(label)} — {escape(t.plural('chats_count', count))}"
            for label, count in by_edition
        ]
        text = "\n".join([text, escape(t("breaking_report_editions")), *lines])
    return f"{text}\n{render_failure_reasons(reasons, t)}" if reasons else text


def render_failure_reasons(reasons: Sequence[FailureLike], t: Translator) -> str:
    """One escaped line per reason ("• Bad Request: chat not found — 12 chats"), for editors."""
    return "\n".join(
        f"• {escape(cut_utf16(reason.reason, REASON_LIMIT))} — "
        f"{escape(t.plural('chats_count', reason.count))}"
        for reason in reasons
    )


# A feed's error as stored is short (the fetcher cuts its detail); an unexpected one may not be.
FEED_ERROR_LIMIT = 300


def feed_name(title: str | None, url: str) -> str:
    """A feed as editors know it: its title and address ("“Kazinform” https://…"), or its
    address alone before it was ever read."""
    title = " ".join((title or "").split())
    return f"“{title}” {url}" if title else url


def render_feed_down(
    title: str | None, url: str, error: str, down_for: timedelta, *, t: Translator
) -> str:
    """A feed has failed for `down_for`: which, for how long, and its latest error."""
    return escape(
        t(
            "feed_alert_down",
            feed=feed_name(title, url),
            duration=t.duration(down_for),
            error=cut_utf16(error, FEED_ERROR_LIMIT),
        ),
        quote=False,
    )


def render_feed_recovered(
    title: str | None, url: str, was_down: timedelta, *, t: Translator
) -> str:
    """A feed the editors were told was down answers again, after `was_down`."""
    return escape(
        t("feed_alert_recovered", feed=feed_name(title, url), duration=t.duration(was_down)),
        quote=False,
    )
