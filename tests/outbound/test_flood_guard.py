"""The sender's machinery: Telegram's counters kept on our side, the in-flight limit, and
one render per message however many deliveries ask for it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bot.delivery.compose import Composer
from bot.delivery.pacer import InFlightLimit
from bot.outbound.flood_guard import FloodGuard, Window
from bot.outbound.message import OutgoingMessage


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_message_counts_while_in_flight_and_for_a_second_after_its_answer() -> None:
    window = Window(3, 1.0)
    window.in_flight = 3
    assert window.wait(100.0) is None  # full, and only an answer can free it
    window.in_flight = 0
    window.answered.extend([100.0, 100.2, 100.5])
    # The oldest of the three leaves the window at 101.0.
    assert window.wait(100.6) == pytest.approx(0.4)
    assert window.wait(101.0) == 0.0
    assert list(window.answered) == [100.2, 100.5]


async def test_thirty_a_second_whatever_the_spacing_the_sends_had_on_the_way() -> None:
    clock = Clock()
    guard = FloodGuard(clock=clock)
    for n in range(30):
        await guard.acquire(10_000 + n, urgent=False)
    assert guard.wait(20_000, urgent=False) is None  # 30 in flight: wait for answers
    clock.now += 0.5  # slow answers: Telegram may have counted them as late as this
    for n in range(30):
        guard.answered(10_000 + n)
    clock.now += 0.9
    # A second after the answers, not after the sends.
    assert guard.wait(20_000, urgent=False) == pytest.approx(0.1)
    clock.now += 0.1
    assert guard.wait(20_000, urgent=False) == 0.0


async def test_paid_broadcasts_are_counted_apart_from_the_free_thirty() -> None:
    guard = FloodGuard(clock=Clock())
    for n in range(30):
        await guard.acquire(10_000 + n, urgent=False)
    assert guard.wait(20_000, paid=True, urgent=False) == 0.0
    assert guard.wait(20_000, urgent=True) is None


async def test_replies_go_first_keep_a_private_chats_pace_and_only_count_in_a_group() -> None:
    clock = Clock()
    guard = FloodGuard(clock=clock)
    await guard.acquire(42, urgent=True)
    guard.answered(42)
    # A private chat takes one message a second, replies too (a burst of commands is
    # answered a second apart rather than met with 429s).
    assert guard.wait(42, urgent=True) == 1.0
    assert guard.wait(42, urgent=False) == 1.0
    await guard.acquire(-42, urgent=True)
    guard.answered(-42)
    assert guard.wait(-42, urgent=True) == 0.0  # a group's conversation may burst a little
    guard._urgent_waiting = 1  # a reply waits for the overall counter: the fan-out holds back
    assert guard.wait(43, urgent=False) is None
    assert guard.wait(43, urgent=True) == 0.0


async def test_a_reply_waiting_for_its_chats_second_does_not_hold_back_the_fan_out() -> None:
    clock = Clock()
    guard = FloodGuard(clock=clock)
    await guard.acquire(42, urgent=True)
    guard.answered(42)
    reply = asyncio.create_task(guard.acquire(42, urgent=True))  # waits for 42's second
    await asyncio.sleep(0)
    assert not reply.done()
    assert guard.wait(43, urgent=False) == 0.0  # the fan-out to other chats goes on
    clock.now += 1.0
    await asyncio.wait_for(reply, 2)


async def test_a_chats_retry_after_holds_every_request_to_it() -> None:
    clock = Clock()
    guard = FloodGuard(private_interval=0, clock=clock)
    guard.hold(42, 3.0)
    assert guard.wait(42, urgent=True) == 3.0
    assert guard.wait(42, urgent=False) == 3.0
    assert guard.wait(42, paid=True, urgent=False) == 3.0
    assert guard.wait(43, urgent=True) == 0.0  # other chats go on
    guard.hold(42, 1.0)  # a shorter hold never shortens a longer one
    clock.now += 2.5
    assert guard.held_for(42) == pytest.approx(0.5)
    clock.now += 0.5
    assert guard.wait(42, urgent=True) == 0.0 and guard.held_for(42) == 0.0


async def test_groups_take_twenty_a_minute_and_a_zero_interval_means_no_chat_limit() -> None:
    clock = Clock()
    guard = FloodGuard(private_interval=0, group_per_minute=20, clock=clock)
    for _ in range(20):
        await guard.acquire(-100, urgent=False)
        guard.answered(-100)
        await guard.acquire(7, urgent=False)
        guard.answered(7)
        clock.now += 0.1
    assert guard.wait(-100, urgent=False) == pytest.approx(58.0)  # the first, 60 s later
    assert guard.wait(7, urgent=False) == 0.0


async def test_in_flight_limit_hands_places_over_in_order() -> None:
    limit = InFlightLimit(2, floor=2, clock=Clock(), cpu_clock=Clock())
    await limit.acquire()
    await limit.acquire()
    third = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    assert not third.done() and limit.in_flight == 2
    limit.release()
    await third
    assert limit.in_flight == 2
    limit.release()
    limit.release()
    assert limit.in_flight == 0


async def test_in_flight_limit_grows_while_sends_wait_on_the_network_and_shrinks_on_the_cpu() -> (
    None
):
    clock, cpu = Clock(), Clock()
    limit = InFlightLimit(32, floor=2, clock=clock, cpu_clock=cpu)

    async def round_trip(cpu_share: float) -> None:
        """Every place taken, one more send waiting; a little over a tenth of a second passes."""
        for _ in range(limit.limit):
            await limit.acquire()
        waiting = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        clock.now += 0.11
        cpu.now += 0.11 * cpu_share
        for _ in range(limit.in_flight):
            limit.release()
        await waiting
        limit.release()

    for _ in range(10):  # slow answers, an idle CPU: more in flight keeps the pace
        await round_trip(cpu_share=0.2)
    assert limit.limit == 32
    for _ in range(12):  # the CPU is the bottleneck: more in flight only queue here
        await round_trip(cpu_share=0.95)
    assert limit.limit == 2


async def test_a_message_is_rendered_once_however_many_deliveries_ask_for_it_at_once() -> None:
    composer = Composer(
        database=None,  # type: ignore[arg-type]
        settings=SimpleNamespace(language="en", editions=["kk", "ru", "en"]),  # type: ignore[arg-type]
        catalogues=None,  # type: ignore[arg-type]
        related=None,  # type: ignore[arg-type]
    )
    loads: list[int] = []
    renders: list[tuple[int, str | None, str]] = []
    alert = SimpleNamespace(id=7, texts={"kk": "Қазақша", "ru": "Русский"}, text="Қазақша")

    async def load(alert_id: int) -> SimpleNamespace:
        loads.append(alert_id)
        await asyncio.sleep(0.01)  # the database, while hundreds of deliveries wait
        return alert

    async def render(found: SimpleNamespace, edition: str | None, language: str) -> OutgoingMessage:
        renders.append((found.id, edition, language))
        await asyncio.sleep(0.01)
        return OutgoingMessage(f"alert {found.id} {edition} in {language}")

    composer._load_alert = load  # type: ignore[method-assign]
    composer._render_alert = render  # type: ignore[method-assign]
    # (interface language, editions read): English readers of kk and ru get kk (the
    # newsroom's order), Russian readers of both get ru (their interface language first).
    chats = [("en", {"kk", "ru"}), (None, {"en"}), ("ru", {"kk", "ru"}), ("ru", {"kk"})] * 100
    messages = await asyncio.gather(
        *[composer.alert(7, language, frozenset(editions)) for language, editions in chats]
    )
    assert loads == [7]
    assert sorted(renders) == [(7, "kk", "en"), (7, "kk", "ru"), (7, "ru", "ru")]
    assert {message.text for message in messages if message} == {
        "alert 7 kk in en",
        "alert 7 ru in ru",
        "alert 7 kk in ru",
    }
