"""What editors are told about their breaking news: how many chats it reached, per version,
and Telegram's reasons for the chats it did not. Escaped HTML text; no Telegram calls.
"""

from __future__ import annotations

from collections.abc import Sequence
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
