"""Crash benchmark: a fan-out to N channels with the bot SIGKILLed at K random moments.

    python benchmarks/crash.py [--chats 2000] [--kills 10]

Prints whether every destination has the story, how many sends were repeated, and the bound
(sends in flight + sends not yet recorded, per kill). Target: nothing lost, repeats <= bound.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tests.test_crash_safety as crash
from bot.delivery.sender import SENT_BATCH
from tests.fakes.bot_api import FakeBotAPI, FakeChat


async def run(chats: int, kills: int) -> None:
    crash.CHATS = chats
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        database_url = f"sqlite:///{folder / 'newsbot.db'}"
        await crash.seed_breaking_news(database_url)
        with FakeBotAPI() as api:
            for n in range(chats):
                api.register_chat(FakeChat(-100_000 - n, "channel"))
            moments = sorted(random.sample(range(chats // 20, chats * 9 // 10), kills))
            for moment in moments:
                bot = await crash.start_bot(folder, api)
                await api.wait_until(
                    lambda at=moment: sum(crash.channel_sends(api).values()) >= at, timeout=600
                )
                os.kill(bot.pid, signal.SIGKILL)
                await bot.wait()
            bot = await crash.start_bot(folder, api)
            await api.wait_until(lambda: len(crash.channel_sends(api)) == chats, timeout=600)
            bot.send_signal(signal.SIGTERM)
            await bot.wait()
            sends = crash.channel_sends(api)
    repeated = sum(count - 1 for count in sends.values())
    bound = kills * (crash.CONCURRENCY + SENT_BATCH)
    print(f"chats: {chats}, SIGKILLs: {kills} at sends {moments}")
    print(f"every chat has the story: {len(sends) == chats} ({len(sends)}/{chats})")
    print(
        f"repeated sends: {repeated} (bound: {kills} kills x ({crash.CONCURRENCY} in flight "
        f"+ {SENT_BATCH} unrecorded) = {bound}); most to one chat: {max(sends.values())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(run(args.chats, args.kills))


if __name__ == "__main__":
    main()
