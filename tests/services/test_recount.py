"""A costly count kept and made again in the background (bot/services/recount.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.services.recount import Recounted, RecountFailed


class Counter:
    """Counts 1, 2, 3, ... (each count taking `delay`), failing when told to."""

    def __init__(self, delay: float = 0.0) -> None:
        self.made = 0
        self.delay = delay
        self.fail = False

    async def __call__(self) -> int:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise OSError("database went away")
        self.made += 1
        return self.made


async def settle(value: Recounted[int]) -> None:
    for _ in range(100):
        await asyncio.sleep(0.005)
        if value._running is None:
            return


async def test_only_the_first_call_waits_and_a_stale_count_is_made_again_behind() -> None:
    clock = [0.0]
    count = Counter()
    value = Recounted(count, ttl=5.0, clock=lambda: clock[0])
    assert value.age is None
    assert await value.get() == 1
    clock[0] = 4.9
    assert await value.get() == 1 and count.made == 1
    clock[0] = 5.0
    # Stale: answered at once with the last count, while the next one is made.
    assert await value.get() == 1
    await settle(value)
    assert count.made == 2 and await value.get() == 2
    assert value.age == 0.0


async def test_concurrent_first_calls_share_one_count_and_recounts_do_not_pile_up() -> None:
    clock = [0.0]
    count = Counter(delay=0.05)
    value = Recounted(count, ttl=1.0, clock=lambda: clock[0])
    assert await asyncio.gather(*(value.get() for _ in range(5))) == [1] * 5
    clock[0] = 2.0
    assert [await value.get() for _ in range(5)] == [1] * 5
    await settle(value)
    assert count.made == 2


async def test_a_failed_recount_keeps_the_last_count_and_the_next_call_tries_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    clock = [0.0]
    count = Counter()
    value = Recounted(count, ttl=1.0, clock=lambda: clock[0])
    assert await value.get() == 1
    count.fail = True
    clock[0] = 2.0
    assert await value.get() == 1
    await settle(value)
    assert await value.get() == 1
    assert "recount failed" in caplog.text
    count.fail = False
    await settle(value)
    assert await value.get() in (1, 2)
    await settle(value)
    assert await value.get() == 2


async def test_a_first_count_that_fails_fails_its_callers() -> None:
    count = Counter()
    count.fail = True
    value = Recounted(count, ttl=1.0)
    with pytest.raises(RecountFailed):
        await value.get()
    count.fail = False
    assert await value.get() == 1


async def test_a_count_older_than_its_max_age_is_waited_for() -> None:
    """After a quiet spell nobody is shown an old figure: the call waits for a new count."""
    clock = [0.0]
    count = Counter()
    value = Recounted(count, ttl=5.0, clock=lambda: clock[0])
    assert await value.get() == 1
    clock[0] = 49.0
    assert await value.get() == 1  # stale: a recount behind
    await settle(value)
    clock[0] = 49.0 + 50.0
    assert await value.get() == 3 and count.made == 3


async def test_warm_counts_ahead_of_the_call_that_needs_it() -> None:
    clock = [0.0]
    count = Counter()
    value = Recounted(count, ttl=5.0, clock=lambda: clock[0])
    value.warm()
    await settle(value)
    assert count.made == 1
    assert await value.get() == 1 and count.made == 1  # nobody waited, nothing counted again
    value.warm()  # fresh: nothing to do
    await settle(value)
    assert count.made == 1
    clock[0] = 6.0
    value.warm()
    await settle(value)
    assert count.made == 2 and await value.get() == 2
