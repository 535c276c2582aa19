"""The console's Approvals tab: the stories waiting at the editors' desk, approved or skipped.

A decision goes through the desk's own use case (bot/services/approvals.py
`Approvals.settle`, which the desk's Approve and Skip buttons reach through `press`): who may,
a decided or expired story refused, the decision recorded once, the desk message in the desk
chat updated, the sender woken after an approval. Its answer (a catalogue key) becomes the
HTTP status here. Every decision logs one line naming the editor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.delivery.approval_desk import DeskPoster, DeskView
from bot.entrypoints.http.body import BadBody, read_json
from bot.entrypoints.http.console.auth import NO_STORE, Caller, error
from bot.services.approvals import Approvals, Editor

log = logging.getLogger(__name__)

MAX_BODY = 1024
MAX_ID = 2**63 - 1
DECISIONS = {"approve": True, "skip": False}
# The use case's answers that refuse (Approvals.settle) as HTTP statuses and errors.
REFUSALS = {
    "desk_not_editor": (403, "the desk is for the newsroom's editors"),
    "desk_already_decided": (409, "this story was decided already (or it expired)"),
}


def console_editor(caller: Caller) -> Editor:
    """The editor as the desk names them (bot/entrypoints/telegram/handlers/desk.py
    `editor_of`): full name, and @username when there is one."""
    signed: Any = caller.user.user
    last = signed.get("last_name")
    username = signed.get("username")
    name = caller.user.first_name + (f" {last}" if isinstance(last, str) and last else "")
    if isinstance(username, str) and username:
        name += f" (@{username})"
    return Editor(caller.user.user_id, name[:255])


class ConsoleApprovals:
    """The handlers: parse, call the use case, shape the JSON."""

    def __init__(
        self, approvals: Approvals, desk: DeskPoster, wake_delivery: Callable[[], None]
    ) -> None:
        self._approvals = approvals
        self._desk = desk
        self._wake = wake_delivery

    async def queue(self, request: Request, caller: Caller) -> Response:
        now = self._approvals.clock()
        views = await self._approvals.queue()
        # Each story as the desk chat shows it (the desk's language): the same renderer.
        t = await self._desk.translator()
        return _json(
            {
                "approvals": [
                    {**_approval(view, now), "preview": self._desk.render(view, t).text}
                    for view in views
                ]
            }
        )

    async def decide(self, request: Request, caller: Caller) -> Response:
        raw = request.path_params["approval_id"]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_ID:
            return error(404, "no such approval")
        try:
            data = await read_json(request, MAX_BODY)
        except BadBody as exc:
            return error(413 if exc.too_large else 422, str(exc))
        if not isinstance(data, dict) or set(data) != {"decision"}:
            return error(422, 'the body must be {"decision": "approve"} or {"decision": "skip"}')
        if not isinstance(data["decision"], str) or data["decision"] not in DECISIONS:
            return error(422, 'decision must be "approve" or "skip"')
        view = await self._approvals.view(int(raw))
        if view is None:
            return error(404, "no such approval")
        answers: list[str] = []

        async def answer(key: str, alert: bool) -> None:
            answers.append(key)

        editor = console_editor(caller)
        approve = DECISIONS[data["decision"]]
        decided = await self._approvals.settle(
            editor, view, approve, desk=self._desk, wake_delivery=self._wake, answer=answer
        )
        if decided is None:
            status, message = REFUSALS.get(answers[-1] if answers else "", (409, "not decided"))
            current = await self._approvals.view(view.approval.id)
            body: dict[str, object] = {"error": message}
            if current is not None:
                body["approval"] = _approval(current, self._approvals.clock())
            return JSONResponse(body, status_code=status, headers=NO_STORE)
        log.info(
            "console: approval %d (story %d) %s by editor %d (%s)",
            decided.approval.id,
            decided.story.id,
            "approved" if approve else "skipped",
            editor.id,
            editor.name,
            extra={"approval_id": decided.approval.id, "user_id": editor.id},
        )
        return _json({"approval": _approval(decided, self._approvals.clock())})


def _json(body: object) -> JSONResponse:
    return JSONResponse(body, headers=NO_STORE)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _approval(view: DeskView, now: datetime) -> dict[str, object]:
    approval, story = view.approval, view.story
    return {
        "id": approval.id,
        "story_id": story.id,
        "status": approval.status.value,
        "headline": approval.headline or story.title,
        "original_headline": story.title,
        "link": story.link,
        "section": story.section,
        "edition": story.edition,
        "chats": [{"id": chat.chat_id, "title": chat.title or chat.ref} for chat in view.chats],
        "chat_count": view.total_chats,
        "waiting_since": _time(approval.created_at),
        "waited_seconds": max(0, int((now - approval.created_at).total_seconds())),
        "expires_at": _time(approval.expires_at),
        "at_desk": approval.desk_message_id is not None,
        "decided_by": approval.decided_by_name,
        "decided_at": _time(approval.decided_at),
    }
