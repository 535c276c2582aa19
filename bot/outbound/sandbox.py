"""Running user-supplied code (a chat's template) under a budget of time and memory.

Jinja's sandbox bounds what a template may touch, not how long it runs nor how much it
builds (its own documentation says so). So templates run here: in a small pool of worker
processes, each a fresh interpreter (`python -m bot.outbound.sandbox`: nothing of the bot's memory,
connections or event loop) that caps its own address space with RLIMIT_AS before it takes
any work. The caller waits at most `seconds` for an answer; a worker that overruns is
killed (SIGKILL) and replaced, and one that ran out of memory (MemoryError inside it, where
the bot's own memory is untouched) answers so and is replaced too.

`run` blocks and is thread-safe: call it from a thread (asyncio.to_thread) or before the
event loop starts, never on the loop. A function travels by pickle, that is by its module
and name, so this module imports nothing it runs; its arguments and result are pickled.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import queue
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

# Address space a worker may take beyond what it holds once started (a template's output is
# at most tens of kilobytes: this is room for Jinja's own work, not for a 300 MB string).
WORKER_MEMORY = 128 << 20
# How long a worker may take to start (an interpreter and its imports, on a busy machine):
# not counted in a job's own time.
BOOT_SECONDS = 30.0
_READY = "ready"

T = TypeVar("T")


class OverBudget(Exception):
    """The job was stopped: the message says which limit, for whoever wrote the code."""


# The worker's side ----------------------------------------------------------------------


def _address_space() -> int:
    """This process's virtual memory now (bytes): the base its RLIMIT_AS is counted from."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def _limit_memory(extra: int) -> None:
    try:
        base = _address_space()
    except OSError:  # no /proc: count from the largest RSS seen instead
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 * 4
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = base + extra if hard == resource.RLIM_INFINITY else min(base + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _reply(connection: Connection, function: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    """Run one job and send its outcome; False when this worker should stop (out of memory)."""
    try:
        outcome: tuple[str, Any] = ("ok", function(*args))
    except MemoryError:
        outcome = ("memory", None)
    except Exception as exc:
        outcome = ("error", exc)
    try:
        connection.send(outcome)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        connection.send(("error", RuntimeError(f"{type(outcome[1]).__name__}: {exc}")))
    return outcome[0] != "memory"


def serve(reading: int, writing: int, extra: int, preload: Sequence[str]) -> None:
    """A worker's life: import what its jobs need, cap its memory, then answer jobs until
    the bot closes the pipe (or dies: the pipe closes with it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the bot stops its workers itself
    for module in preload:
        importlib.import_module(module)
    inbox = Connection(reading, writable=False)
    outbox = Connection(writing, readable=False)
    _limit_memory(extra)
    outbox.send(_READY)
    while True:
        try:
            function, args = inbox.recv()
        except (EOFError, OSError):
            return
        if not _reply(outbox, function, args):
            return  # a worker that ran short of memory is replaced, not trusted again


# The bot's side -------------------------------------------------------------------------


class _Worker:
    """One worker process and the two pipes to it."""

    def __init__(self, extra: int, preload: Sequence[str]) -> None:
        job_read, job_write = os.pipe()
        answer_read, answer_write = os.pipe()
        command = [sys.executable, "-m", "bot.outbound.sandbox", str(job_read), str(answer_write)]
        command += [str(extra), *preload]
        self.process = subprocess.Popen(
            command,
            pass_fds=(job_read, answer_write),
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C at the terminal is the bot's to handle
        )
        os.close(job_read)
        os.close(answer_write)
        self.jobs = Connection(job_write, readable=False)
        self.answers = Connection(answer_read, writable=False)
        self.ready = False

    def wait_ready(self) -> bool:
        if not self.ready and self.answers.poll(BOOT_SECONDS):
            self.ready = self.answers.recv() == _READY
        return self.ready

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        self.jobs.close()
        self.answers.close()


class SandboxPool:
    """Up to `size` workers, started when first needed and replaced when killed."""

    def __init__(
        self, size: int = 2, memory: int = WORKER_MEMORY, preload: Sequence[str] = ()
    ) -> None:
        self._size = size
        self._memory = memory
        self._preload = tuple(preload)
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers: set[_Worker] = set()

    def run(self, function: Callable[..., T], *args: Any, seconds: float) -> T:
        """`function(*args)` in a worker, its result or its exception; OverBudget when it
        takes longer than `seconds` or more memory than a worker has."""
        worker = self._checkout()
        try:
            if not worker.wait_ready():
                raise OverBudget("the template worker did not start")
            worker.jobs.send((function, args))
            if not worker.answers.poll(seconds):
                raise OverBudget(f"took longer than {seconds:g} s")
            status, value = worker.answers.recv()
        except OverBudget:
            self._replace(worker)
            raise
        except (EOFError, OSError):
            self._replace(worker)
            raise OverBudget("the template worker stopped") from None
        if status == "memory":
            self._replace(worker)
            raise OverBudget(f"used more than {self._memory >> 20} MB of memory")
        self._idle.put(worker)
        if status == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop every worker (at exit; a job in progress is answered with OverBudget)."""
        with self._lock:
            workers, self._workers = self._workers, set()
        for worker in workers:
            worker.stop()

    def _checkout(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if len(self._workers) < self._size:
                return self._start()
        return self._idle.get()

    def _start(self) -> _Worker:
        worker = _Worker(self._memory, self._preload)
        self._workers.add(worker)
        return worker

    def _replace(self, worker: _Worker) -> None:
        """Kill `worker` and start another at once (it boots while nobody waits for it)."""
        worker.stop()
        with self._lock:
            if worker not in self._workers:
                return  # closed meanwhile
            self._workers.discard(worker)
            self._idle.put(self._start())


_POOLS: dict[tuple[str, ...], SandboxPool] = {}
_POOLS_LOCK = threading.Lock()


def pool(preload: Sequence[str]) -> SandboxPool:
    """This process's pool for jobs that need `preload` imported (one per kind of job)."""
    key = tuple(preload)
    with _POOLS_LOCK:
        if key not in _POOLS:
            _POOLS[key] = SandboxPool(preload=key)
        return _POOLS[key]


@atexit.register
def _close_pools() -> None:
    for each in list(_POOLS.values()):
        each.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
