"""UserLanes on its own: each user's updates in order, one at a time; a burst beyond the
backlog dropped for that user alone, told once; other users and state changes go on."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from bot.entrypoints.telegram.lanes import UserLanes


def message(update_id: int, user_id: int, text: str = "/help") -> Update:
    user = {"id": user_id, "is_bot": False, "first_name": "U"}
    chat = {"id": user_id, "type": "private", "first_name": "U"}
    payload = {"message_id": update_id, "date": 0, "chat": chat, "from": user, "text": text}
    return Update.de_json({"update_id": update_id, "message": payload}, None)


def joined(update_id: int, user_id: int) -> Update:
    """The bot added to a group by this user (my_chat_member): never dropped."""
    user = {"id": user_id, "is_bot": False, "first_name": "U"}
    member = {"user": {"id": 1, "is_bot": True, "first_name": "B"}}
    data: dict[str, Any] = {
        "chat": {"id": -100, "type": "group", "title": "G"},
        "from": user,
        "date": 0,
        "old_chat_member": {**member, "status": "left"},
        "new_chat_member": {**member, "status": "member"},
    }
    return Update.de_json({"update_id": update_id, "my_chat_member": data}, None)


class Recorder:
    def __init__(self) -> None:
        self.started: list[int] = []
        self.running: dict[int, int] = {}
        self.most_at_once: dict[int, int] = {}
        self.gate = asyncio.Event()

    async def handle(self, update: Update) -> None:
        user = update.effective_user.id  # type: ignore[union-attr]
        self.started.append(update.update_id)
        self.running[user] = self.running.get(user, 0) + 1
        self.most_at_once[user] = max(self.most_at_once.get(user, 0), self.running[user])
        await self.gate.wait()
        self.running[user] -= 1


async def test_a_burst_is_ordered_and_held_to_its_backlog_while_others_go_on() -> None:
    lanes = UserLanes(workers=4, backlog=3)
    told: list[int] = []

    async def slow_down(update: Update) -> None:
        told.append(update.update_id)

    lanes.on_slow_down = slow_down
    recorder = Recorder()
    updates = [message(n, 7) for n in range(1, 11)] + [joined(11, 7), message(12, 8)]
    tasks = [asyncio.create_task(lanes.process_update(u, recorder.handle(u))) for u in updates]
    await asyncio.sleep(0.05)
    # The flooder's first runs; another user's update runs beside it at once.
    assert recorder.started == [1, 12]
    recorder.gate.set()
    await asyncio.gather(*tasks)
    # In arrival order, one at a time; 3 admitted, the rest of the burst dropped, but not
    # the bot's addition to a group (a state change, never dropped).
    assert [n for n in recorder.started if n != 12] == [1, 2, 3, 11]
    assert recorder.most_at_once[7] == 1
    assert told == [4]  # told once, at the first drop
    assert lanes.dropped == 7
