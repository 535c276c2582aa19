"""The editors' desk chat as the dispatcher keeps it: new approvals posted, expired ones
closed, every preview edited to show where its decision stands.

Posting is like the editors' reports: each tick posts what is not posted yet, then records
the message (desk_chat_id, desk_message_id). Posted then recorded: a crash between the two
(or a failed write after Telegram's answer) posts that preview once more at the next tick,
at most the one preview in flight per crash; the older copy's buttons still work, since
both carry the same approval id and every decision is recorded once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.config import Settings
from bot.delivery.outcomes import Verdict, outcome_of
from bot.outbound.approval_preview import render_approval
from bot.outbound.i18n import Catalogues, Translator
from bot.outbound.message import OutgoingMessage
from bot.outbound.send import deliver, keyboard, preview_options
from storage.approvals import ChatName, Waiting
from storage.models import Story

log = logging.getLogger(__name__)

# After the desk chat refused a preview (not a 429 or network trouble): seconds until the next try.
REFUSED_PAUSE = 60.0


@dataclass(frozen=True, slots=True)
class DeskView:
    """An approval with what its preview shows."""

    approval: Waiting
    story: Story
    chats: list[ChatName]
    total_chats: int


class DeskRecords(Protocol):
    """What the desk chat is kept from: the approvals' records (the approvals service,
    bot/services/approvals.py, keeps them and decides)."""

    @property
    def desk_chat(self) -> int | None: ...

    async def desk_language(self) -> str: ...

    async def unposted(self) -> list[DeskView]: ...

    async def posted(self, approval_id: int, chat_id: int, message_id: int) -> None: ...

    async def expire_due(self) -> list[DeskView]: ...


class DeskPoster:
    def __init__(
        self, bot: Bot, approvals: DeskRecords, settings: Settings, catalogues: Catalogues
    ) -> None:
        self._bot = bot
        self._approvals = approvals
        self._settings = settings
        self._catalogues = catalogues
        self._resume_at = 0.0

    async def translator(self) -> Translator:
        return self._catalogues.translator(await self._approvals.desk_language())

    def render(self, view: DeskView, t: Translator) -> OutgoingMessage:
        approval, story = view.approval, view.story
        section = self._settings.section(story.section) if story.section else None
        return render_approval(
            story,
            approval_id=approval.id,
            status=approval.status,
            headline=approval.headline,
            chats=view.chats,
            total_chats=view.total_chats,
            expires_at=approval.expires_at,
            decided_by_name=approval.decided_by_name,
            decided_at=approval.decided_at,
            t=t,
            zone=self._settings.zone,
            section_title=section.title_in(t.language) if section else None,
        )

    async def tick(self) -> None:
        """Expire what ran out, then post what is new (an expired story is never posted)."""
        await self.expire_due()
        await self.post_new()

    async def post_new(self) -> int:
        desk = self._approvals.desk_chat
        if desk is None or time.monotonic() < self._resume_at:
            return 0
        views = await self._approvals.unposted()
        if not views:
            return 0
        t = await self.translator()
        posted = 0
        for view in views:
            try:
                sent = await deliver(self._bot, desk, self.render(view, t))
            except Exception as exc:
                outcome = outcome_of(exc)
                log.warning(
                    "could not post approval %s to the desk: %s", view.approval.id, outcome.reason
                )
                if outcome.verdict not in (Verdict.RATE_LIMITED, Verdict.TRANSIENT):
                    # The desk chat refuses (gone, no rights, ...): ask again a minute later,
                    # not every tick; the approvals keep waiting (and expire in time).
                    self._resume_at = time.monotonic() + REFUSED_PAUSE
                break  # the next tick (or the pause's end) tries again
            await self._approvals.posted(view.approval.id, sent.chat_id, sent.message_id)
            posted += 1
        return posted

    async def expire_due(self) -> int:
        views = await self._approvals.expire_due()
        if views:
            t = await self.translator()
            for view in views:
                await self.show(view, t)
        return len(views)

    async def show(self, view: DeskView, t: Translator | None = None) -> None:
        """Edit the desk's message of this approval to its current state (if it was posted).

        Always the recorded message, never the one a button was pressed on: a forged press
        elsewhere must not turn a channel post into a desk preview."""
        approval = view.approval
        if approval.desk_chat_id is None or approval.desk_message_id is None:
            return
        message = self.render(view, t or await self.translator())
        try:
            await self._bot.edit_message_text(
                message.text,
                approval.desk_chat_id,
                approval.desk_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(message.buttons),
                link_preview_options=preview_options(message),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.warning(
                    "could not update approval %s at the desk: %s", approval.id, exc.message
                )
        except Exception as exc:  # the decision is recorded; only its display is late
            log.warning(
                "could not update approval %s at the desk: %s", approval.id, outcome_of(exc).reason
            )
