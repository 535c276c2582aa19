"""The editors' desk: stories for chats with approval, waiting for an editor's decision.

The fan-out (storage/fan_out.py) opens one approval per story and leaves its deliveries
`awaiting`; the dispatcher posts each to the desk chat (bot/delivery/approval_desk.py); an
editor approves (the deliveries are queued), skips, or edits the headline first (the reply
to the bot's prompt becomes the headline those chats get, and the story still waits for
Approve: an edit is not a decision, so a second editor sees the new headline before it goes
out). A story nobody decides on within `approval_timeout` expires. Only `editors` decide: a
press on the desk is one use case here (Approvals.press: who may, the decision, the desk
message, waking the sender), for the Telegram handler; its Approve and Skip are
Approvals.settle, which the console's Approvals tab calls too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.delivery.approval_desk import DeskPoster, DeskView
from bot.domain.invisible import strip_invisible
from storage import approvals as approval_queries
from storage import destinations as destination_queries
from storage import prompts as prompt_queries
from storage import stories as story_queries
from storage.approvals import HEADLINE_PROMPT, Waiting
from storage.db import Database
from storage.models import DeskPrompt
from storage.states import ApprovalStatus

# An edited headline is one line of at most this many characters (a feed's are shorter).
MAX_HEADLINE = 250
# The chats a preview names; the rest are counted.
NAMED_CHATS = 5
# The most stories the console's queue lists at once.
QUEUE_LIMIT = 100
# A press on a desk message: ap:<action>:<approval id>.
ACTIONS = ("ok", "no", "hl")
# How a press is answered: a catalogue key, and whether it shows as an alert.
Answer = Callable[[str, bool], Awaitable[None]]
_SPACES = re.compile(r"\s+")


def clean_headline(text: str) -> str:
    """An editor's reply as a headline: invisible and control characters (line breaks too)
    dropped or made spaces, one line, at most MAX_HEADLINE characters. Escaped at render."""
    visible = "".join(
        " " if unicodedata.category(char) == "Cc" else char for char in strip_invisible(text)
    )
    line = _SPACES.sub(" ", visible).strip()
    return line[:MAX_HEADLINE].rstrip()


@dataclass(frozen=True, slots=True)
class Editor:
    """Who pressed or replied (callback_query.from_user / message.from_user)."""

    id: int
    name: str


class Approvals:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._settings = settings
        self._editors = frozenset(settings.editors)
        # The one clock for expiry and decisions (tests move it past approval_timeout).
        self.clock = clock

    @property
    def desk_chat(self) -> int | None:
        return self._settings.desk_chat

    def is_editor(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self._editors

    async def desk_language(self) -> str:
        """The desk chat's language as it chose it, else the newsroom's."""
        desk = self.desk_chat
        if desk is None:
            return self._settings.language
        async with self._db.sessions() as session:
            destination = await destination_queries.get_by_chat(session, desk)
        if destination is not None and destination.language:
            return destination.language
        return self._settings.language

    async def view(self, approval_id: int) -> DeskView | None:
        async with self._db.sessions() as session:
            approval = await approval_queries.get(session, approval_id)
            if approval is None:
                return None
            return await self._view(session, approval)

    async def _view(self, session: AsyncSession, approval: Waiting) -> DeskView | None:
        found = await story_queries.get_stories(session, [approval.story_id])
        if not found:
            return None
        chats, total = await approval_queries.chats_of(session, approval.id, NAMED_CHATS)
        return DeskView(approval, found[0], chats, total)

    async def unposted(self) -> list[DeskView]:
        """Pending approvals whose preview is not in the desk chat yet."""
        async with self._db.sessions() as session:
            views = [await self._view(session, a) for a in await approval_queries.unposted(session)]
        return [view for view in views if view is not None]

    async def queue(self, limit: int = QUEUE_LIMIT) -> list[DeskView]:
        """Every story waiting for a decision, oldest first (the console's Approvals tab)."""
        async with self._db.sessions() as session:
            views = [
                await self._view(session, a) for a in await approval_queries.pending(session, limit)
            ]
        return [view for view in views if view is not None]

    async def posted(self, approval_id: int, chat_id: int, message_id: int) -> None:
        async with self._db.writing(), self._db.sessions.begin() as session:
            await approval_queries.record_post(session, approval_id, chat_id, message_id)

    async def decide(self, approval_id: int, approve: bool, editor: Editor) -> DeskView | None:
        """Approve (queue for its chats) or skip; None when it was decided already."""
        status = ApprovalStatus.APPROVED if approve else ApprovalStatus.SKIPPED
        async with self._db.writing(), self._db.sessions.begin() as session:
            decided = await approval_queries.decide(
                session,
                approval_id,
                status,
                user_id=editor.id,
                user_name=editor.name,
                now=self.clock(),
            )
        return await self.view(approval_id) if decided else None

    async def press(
        self,
        editor: Editor,
        action: str | None,
        approval_id: int | None,
        *,
        desk: DeskPoster,
        wake_delivery: Callable[[], None],
        answer: Answer,
    ) -> DeskView | None:
        """An editor's Approve, Skip or "Edit headline" on a desk message, decided here.

        Only `editors` decide, judged by the presser alone; anyone else is refused and
        nothing changes. The press is answered first, then the recorded desk message is
        updated (never the one pressed on); an approval wakes the sender for its chats.
        Returns the approval when the editor asked to edit its headline (the caller asks for
        the new one); None when the press is answered and done.
        """
        if not self.is_editor(editor.id):
            await answer("desk_not_editor", True)
            return None
        view = await self.view(approval_id) if approval_id is not None else None
        if view is None or action not in ACTIONS or view.approval.desk_message_id is None:
            await answer("stale_button", True)
            return None
        if action == "hl" and view.approval.status is ApprovalStatus.PENDING:
            return view
        await self.settle(
            editor, view, action == "ok", desk=desk, wake_delivery=wake_delivery, answer=answer
        )
        return None

    async def settle(
        self,
        editor: Editor,
        view: DeskView,
        approve: bool,
        *,
        desk: DeskPoster,
        wake_delivery: Callable[[], None],
        answer: Answer,
    ) -> DeskView | None:
        """An editor's Approve or Skip, from the desk's buttons (press) or the console.

        Only `editors` decide. A decided (or expired) approval is answered
        "desk_already_decided" and its desk message shown as it stands; otherwise the
        decision is recorded once (two at once decide once), answered, the recorded desk
        message updated, and an approval wakes the sender. Returns the decided approval, or
        None when nothing was decided.
        """
        if not self.is_editor(editor.id):
            await answer("desk_not_editor", True)
            return None
        if view.approval.status is not ApprovalStatus.PENDING:
            await answer("desk_already_decided", True)
            await desk.show(view)
            return None
        decided = await self.decide(view.approval.id, approve, editor)
        if decided is None:
            await answer("desk_already_decided", True)
            return None
        await answer("desk_approved_answer" if approve else "desk_skipped", False)
        await desk.show(decided)
        if approve:
            wake_delivery()
        return decided

    async def expire_due(self) -> list[DeskView]:
        """Pending approvals past `expires_at`: expired, their deliveries skipped."""
        now = self.clock()
        expired: list[int] = []
        async with self._db.writing(), self._db.sessions.begin() as session:
            for approval_id in await approval_queries.due_to_expire(session, now):
                if await approval_queries.decide(
                    session,
                    approval_id,
                    ApprovalStatus.EXPIRED,
                    user_id=None,
                    user_name=None,
                    now=now,
                ):
                    expired.append(approval_id)
        views = [await self.view(approval_id) for approval_id in expired]
        return [view for view in views if view is not None]

    async def ask_headline(
        self, approval_id: int, chat_id: int, message_id: int, editor: Editor
    ) -> None:
        """Remember the bot's prompt (chat_id, message_id): the editor's reply to it is the
        new headline."""
        async with self._db.writing(), self._db.sessions.begin() as session:
            await approval_queries.add_prompt(
                session,
                chat_id,
                message_id,
                user_id=editor.id,
                purpose=HEADLINE_PROMPT,
                approval_id=approval_id,
                now=self.clock(),
            )

    async def headline_prompt(self, chat_id: int, message_id: int) -> DeskPrompt | None:
        """The headline prompt a reply answers, if the replied-to message is one."""
        async with self._db.sessions() as session:
            prompt = await prompt_queries.prompt_for(session, chat_id, message_id)
        if prompt is None or prompt.purpose != HEADLINE_PROMPT or prompt.approval_id is None:
            return None
        return prompt

    async def set_headline(self, prompt: DeskPrompt, headline: str) -> DeskView | None:
        """`headline` (see clean_headline) for the prompt's approval, and the prompt is
        answered; None when the approval was decided meanwhile."""
        assert prompt.approval_id is not None
        async with self._db.writing(), self._db.sessions.begin() as session:
            changed = await approval_queries.set_headline(session, prompt.approval_id, headline)
            await approval_queries.drop_prompt(session, prompt.chat_id, prompt.message_id)
        return await self.view(prompt.approval_id) if changed else None
