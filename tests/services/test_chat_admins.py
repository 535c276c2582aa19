"""ChatAdmins: Telegram's answer about one (chat, user) is trusted for at most its TTL, then
asked again; each (chat, user) is asked on its own."""

from __future__ import annotations

from typing import Any, cast

from bot.services.admins import Admins
from bot.services.chat_admins import ChatAdmins


class _Telegram:
    """What getChatMember would say, and how often it was asked."""

    def __init__(self) -> None:
        self.admins: set[tuple[int, int]] = set()
        self.asked = 0

    async def user_manages(self, chat_id: int, kind: str, user_id: int) -> bool:
        self.asked += 1
        return (chat_id, user_id) in self.admins


def _cache(telegram: _Telegram, clock: list[float]) -> ChatAdmins:
    return ChatAdmins(cast(Any, None), cast(Admins, telegram), ttl=60, clock=lambda: clock[0])


async def test_an_answer_is_trusted_for_the_ttl_then_asked_again() -> None:
    telegram, clock = _Telegram(), [1000.0]
    telegram.admins.add((-100, 7))
    cache = _cache(telegram, clock)
    assert await cache.manages(-100, "channel", 7)
    telegram.admins.clear()  # demoted
    clock[0] += 59.9
    assert await cache.manages(-100, "channel", 7)  # still the cached answer
    assert telegram.asked == 1
    clock[0] += 0.1
    assert not await cache.manages(-100, "channel", 7)  # 60 s on: asked again
    assert telegram.asked == 2


async def test_each_chat_and_user_is_asked_on_its_own() -> None:
    telegram, clock = _Telegram(), [0.0]
    telegram.admins.add((-100, 7))
    cache = _cache(telegram, clock)
    assert await cache.manages(-100, "channel", 7)
    assert not await cache.manages(-100, "channel", 8)
    assert not await cache.manages(-200, "channel", 7)
    assert telegram.asked == 3
