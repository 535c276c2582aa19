"""The editors' desk preview: a story waiting for approval, as the desk chat sees it.

The story in the standard layout (with the edited headline, if any), above it the chats it
would go to, below it where the decision stands; Approve, Skip and "Edit headline" while it
is pending. Always a text message (never a photo), so every later state is an
editMessageText of the same message. Everything from a feed, a chat title or an editor is
escaped here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.outbound.callbacks import parse_callback
from bot.outbound.i18n import Translator
from bot.outbound.message import Button, OutgoingMessage, StoryLike
from bot.outbound.render import render_story
from bot.outbound.text_limits import fits_callback_data
from storage.approvals import ChatName
from storage.states import ApprovalStatus

# The story's summary in the preview is cut to this many characters: the editors judge the
# story by its headline and first lines, and the preview must leave room for its own lines
# within Telegram's 4,096.
PREVIEW_SUMMARY = 900
CHAT_NAME = 64
PREFIX = "ap"


@dataclass(frozen=True, slots=True)
class _Previewed:
    """The story as the preview shows it: its headline perhaps edited, its summary cut."""

    id: int
    title: str
    summary: str
    link: str | None
    image_url: str | None
    section: str | None
    published_at: datetime
    language: str | None
    author: str | None = None


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip() + "…"


def chat_label(chat: ChatName) -> str:
    """A chat as editors know it: its title and "@username" when the config names one."""
    ref = chat.ref if chat.ref and chat.ref.startswith("@") else None
    title = (chat.title or "").strip()
    label = f"{title} ({ref})" if title and ref else title or ref or str(chat.chat_id)
    return _cut(label, CHAT_NAME)


def _chats_line(chats: Sequence[ChatName], total: int, t: Translator) -> str:
    names = ", ".join(chat_label(chat) for chat in chats)
    if total > len(chats):
        names += " " + t("desk_more_chats", count=total - len(chats))
    return t("desk_goes_to", chats=t.plural("chats_count", total), names=names)


def _when(moment: datetime | None, t: Translator, zone: ZoneInfo) -> str:
    return t.date(moment, zone) if moment is not None else "-"


def _status_line(
    status: ApprovalStatus,
    decided_by_name: str | None,
    decided_at: datetime | None,
    expires_at: datetime,
    t: Translator,
    zone: ZoneInfo,
) -> str:
    name = decided_by_name or "-"
    match status:
        case ApprovalStatus.APPROVED:
            return "✅ " + t("desk_approved", name=name, time=_when(decided_at, t, zone))
        case ApprovalStatus.SKIPPED:
            return "⏭ " + t("desk_skipped", name=name, time=_when(decided_at, t, zone))
        case ApprovalStatus.EXPIRED:
            return "⌛ " + t("desk_expired", time=_when(decided_at, t, zone))
    return "⏳ " + t("desk_pending", time=_when(expires_at, t, zone))


def decision_buttons(approval_id: int, t: Translator) -> tuple[tuple[Button, ...], ...]:
    """Approve, Skip / Edit headline: `ap:<ok|no|hl>:<approval id>` (within 64 bytes)."""
    data = [f"{PREFIX}:{action}:{approval_id}" for action in ("ok", "no", "hl")]
    assert all(fits_callback_data(item) and parse_callback(item) for item in data)
    return (
        (
            Button(t("desk_approve"), callback_data=data[0]),
            Button(t("desk_skip"), callback_data=data[1]),
        ),
        (Button(t("desk_edit_headline"), callback_data=data[2]),),
    )


def render_approval(
    story: StoryLike,
    *,
    approval_id: int,
    status: ApprovalStatus,
    headline: str | None,
    chats: Sequence[ChatName],
    total_chats: int,
    expires_at: datetime,
    decided_by_name: str | None,
    decided_at: datetime | None,
    t: Translator,
    zone: ZoneInfo,
    section_title: str | None,
) -> OutgoingMessage:
    """The desk's message for one approval in its current state."""
    shown = _Previewed(
        id=story.id,
        title=headline or story.title,
        summary=_cut(story.summary or "", PREVIEW_SUMMARY),
        link=story.link,
        image_url=None,  # text, so that each decision edits the same message's text
        section=story.section,
        published_at=story.published_at,
        language=story.language,
        author=getattr(story, "author", None),
    )
    body = render_story(shown, t=t, zone=zone, section_title=section_title)
    head = "🗳 " + html.escape(_chats_line(chats, total_chats, t), quote=False)
    lines = [head, "", body.text, ""]
    if headline and headline != story.title:
        edited = t("desk_headline_edited", original=_cut(story.title, 200))
        lines.append("✏️ " + html.escape(edited, quote=False))
    lines.append(
        html.escape(
            _status_line(status, decided_by_name, decided_at, expires_at, t, zone), quote=False
        )
    )
    buttons = body.buttons
    if status is ApprovalStatus.PENDING:
        buttons = decision_buttons(approval_id, t) + buttons
    return replace(body, text="\n".join(lines), buttons=buttons, photo_url=None)
