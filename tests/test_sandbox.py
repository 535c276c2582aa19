"""The sandbox's worker processes on their own: a job over its time or memory is stopped
with the reason, its worker replaced, and the next job is answered as usual."""

from __future__ import annotations

import operator
import resource
import time
from collections.abc import Iterator

import pytest

from bot.outbound.sandbox import OverBudget, SandboxPool


@pytest.fixture
def pool() -> Iterator[SandboxPool]:
    sandbox = SandboxPool(size=1, memory=64 << 20)
    try:
        yield sandbox
    finally:
        sandbox.close()


def test_a_job_over_its_time_is_killed_and_the_next_one_answered(pool: SandboxPool) -> None:
    assert pool.run(operator.add, 2, 3, seconds=30) == 5  # started (its boot is not counted)
    started = time.monotonic()
    with pytest.raises(OverBudget, match=r"took longer than 0\.2 s"):
        pool.run(time.sleep, 30, seconds=0.2)
    assert time.monotonic() - started < 5
    assert pool.run(operator.add, 2, 3, seconds=30) == 5


def test_a_job_over_its_memory_fails_in_the_worker_not_here(pool: SandboxPool) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(OverBudget, match="used more than 64 MB of memory"):
        pool.run(operator.mul, "x", 300_000_000, seconds=30)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 50 * 1024
    assert pool.run(operator.mul, "x", 3, seconds=30) == "xxx"


def test_a_jobs_own_error_comes_back_as_it_was_raised(pool: SandboxPool) -> None:
    with pytest.raises(ZeroDivisionError):
        pool.run(operator.truediv, 1, 0, seconds=30)
    assert pool.run(operator.truediv, 1, 4, seconds=30) == 0.25
