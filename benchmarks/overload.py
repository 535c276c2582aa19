"""Overload benchmark: stories arrive faster than Telegram's 30 messages a second can carry.

R private readers subscribe to one section; a story is published every P seconds for W
seconds and the bot is watched for W + X seconds from the first one. newsbot runs as
deployed (its scheduler, its sender, its long polling) against the fake Bot API, which
enforces Telegram's limits (30 messages a second overall, 1 a second per chat) in its own
process. Each run is made twice, on a fresh fake and database: with fair turns and bundles
(what newsbot does) and with the FIFO baseline (one message per reader per story, first in,
first out: what it did before), side by side.

    python benchmarks/overload.py [--readers 600] [--every 4] [--for 120] [--watch 120]
                                  [--only fair|fifo] [--quiet] [--database-url URL]

Prints per mode: coverage (the share of reader-story pairs that reached the reader, a
story listed in a bundle counts; one counted only in "…and N more" does not), the lag from
publication to the reader's chat (p50/p95 over every pair; a pair never reached counts as
later than any), the share of readers who had the newest story within 90 s of its
publication, messages sent and 429 answers. Targets (issue 21): coverage >= 99%, lag p95
<= 60 s, >= 95% of readers with the newest story within 90 s, zero 429, at 5x (a story every
4 s) and 10x (every 2 s) for 600 readers.

--quiet: a quiet day instead: one story to R readers; prints how many messages, how long,
and whether each was the story in its own full layout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import control, seed, start_fake

from bot.config import Settings
from bot.setup.core import open_core
from bot.setup.logs import configure_logging
from bot.setup.scheduling import wake_delivery
from bot.setup.telegram_side import telegram_running
from storage.models import Story

TOKEN = "123456:TEST-token"
TITLE = "Overload story {:03}"
NUMBER = re.compile(r"Overload story (\d{3})")
NEWEST_WITHIN = 90.0


@dataclass
class Figures:
    coverage: float
    lag_p50: float
    lag_p95: float
    newest_within: float
    messages: int
    too_many: int
    bundles: int


async def publish(core: Any, number: int) -> float:
    """Story `number` in the readers' section, published now (returns the wall time)."""
    now = datetime.now(UTC)
    async with core.database.sessions.begin() as session:
        session.add(
            Story(
                identity=f"overload-{number}",
                link=f"https://www.inform.kz/en/overload-{number}",
                title=TITLE.format(number),
                summary=f"The lead of story {number}. It says what happened, and where.",
                section="politics",
                language="en",
                published_at=now,
                first_seen_at=now,
                updated_at=now,
                content_hash=f"overload-{number}",
                pushable=True,
            )
        )
    return now.timestamp()


async def run(
    args: argparse.Namespace, base_url: str, database_url: str, fair: bool
) -> dict[int, float]:
    """Publish on schedule for `--for` seconds, watch until `--watch` after the first story;
    returns the publication times."""
    settings = Settings(
        database_url=database_url,
        bot_api_url=base_url,
        telegram_bot_token=TOKEN,
        sections=[{"slug": "politics", "title": "Politics"}],
        long_poll_timeout=1,
        parse_workers=0,
    )
    published: dict[int, float] = {}
    async with open_core(settings) as core:
        await seed(core, args.readers, editions=False)
        scheduler = AsyncIOScheduler(timezone=UTC)
        async with telegram_running(core, TOKEN, scheduler) as side:
            side.sender.fair = fair
            scheduler.start()
            count = 1 if args.quiet else max(1, int(args.duration / args.every))
            start = time.monotonic()
            for number in range(count):
                await asyncio.sleep(max(0.0, start + number * args.every - time.monotonic()))
                published[number] = await publish(core, number)
                wake_delivery(scheduler)
            await asyncio.sleep(max(0.0, start + args.watch - time.monotonic()))
            # Watched long enough: no new tick, and the one in progress takes nothing new.
            scheduler.pause()
            side.sender.stop_claiming()
            await asyncio.sleep(2.0)
            scheduler.shutdown(wait=False)
    return published


def stories_in(text: str) -> set[int]:
    """The stories a message brings: a story in its own layout is its headline alone (its
    Related block names others it does not bring); a bundle, every headline it lists."""
    if text.startswith("<b>Overload story"):
        return {int(NUMBER.findall(text)[0])}
    return {int(number) for number in NUMBER.findall(text)}


def figures(
    args: argparse.Namespace, published: dict[int, float], sent: list[dict[str, Any]], too_many: int
) -> Figures:
    """What the readers saw, from the fake's record of every message."""
    arrived: dict[tuple[int, int], float] = {}
    bundles = 0
    for message in sent:
        numbers = stories_in(message.get("text") or "")
        bundles += len(numbers) > 1
        for number in numbers:
            key = (message["chat_id"], number)
            arrived[key] = min(arrived.get(key, float("inf")), message["time"])
    readers = range(10_000, 10_000 + args.readers)
    lags = sorted(
        arrived.get((chat, number), float("inf")) - at
        for chat in readers
        for number, at in published.items()
    )
    newest = max(published)
    within = sum(
        arrived.get((chat, newest), float("inf")) - published[newest] <= NEWEST_WITHIN
        for chat in readers
    )
    return Figures(
        coverage=sum(lag != float("inf") for lag in lags) / len(lags),
        lag_p50=statistics.median(lags),
        lag_p95=lags[int(len(lags) * 0.95) - 1],
        newest_within=within / args.readers,
        messages=len(sent),
        too_many=too_many,
        bundles=bundles,
    )


def measure(args: argparse.Namespace, fair: bool) -> Figures:
    fake, base_url = start_fake(30.0, 1000.0, args.port)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            database_url = args.database_url or f"sqlite:///{scratch}/overload.db"
            published = asyncio.run(run(args, base_url, database_url, fair))
        too_many = control(base_url, "stats")["too_many_requests"]
        sent = [m for m in control(base_url, "sent") if m["chat_id"] >= 10_000]
    finally:
        fake.terminate()
        fake.wait()
    if args.quiet:
        quiet_day(sent, args.readers)
    return figures(args, published, sent, too_many)


def quiet_day(sent: list[dict[str, Any]], readers: int) -> None:
    """One story to every reader: each its own message, in the full layout."""
    times = sorted(message["time"] for message in sent)
    headline = f"<b>{TITLE.format(0)}</b>"
    full = sum((message.get("text") or "").startswith(headline) for message in sent)
    span = times[-1] - times[0] if times else 0.0
    print(
        f"quiet day: {len(sent)} messages to {readers} readers in {span:.1f} s, "
        f"{full} in the story's full layout, {len({m['chat_id'] for m in sent})} readers reached"
    )


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value != float("inf") else "never"


def main() -> None:
    configure_logging(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=600)
    parser.add_argument("--every", type=float, default=4.0, help="seconds between stories")
    parser.add_argument("--for", dest="duration", type=float, default=120.0)
    parser.add_argument("--watch", type=float, default=240.0, help="from the first story")
    parser.add_argument("--only", choices=("fair", "fifo"), default=None)
    parser.add_argument("--quiet", action="store_true", help="one story: a quiet day")
    parser.add_argument("--port", type=int, default=18082)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    modes = [mode for mode in ("fair", "fifo") if args.only in (None, mode)]
    if args.quiet:
        modes = ["fair"]
    asked = args.readers / args.every
    print(
        f"{args.readers} readers, one story (a quiet day), watched {args.watch:g} s"
        if args.quiet
        else f"{args.readers} readers, a story every {args.every:g} s for {args.duration:g} s "
        f"({asked:.0f} messages/s asked, {asked / 30:.1f}x Telegram's 30), "
        f"watched {args.watch:g} s"
    )
    results = {mode: measure(args, mode == "fair") for mode in modes}
    rows = [
        ("coverage", lambda f: f"{f.coverage:.1%}"),
        ("lag p50", lambda f: seconds(f.lag_p50)),
        ("lag p95", lambda f: seconds(f.lag_p95)),
        (f"newest within {NEWEST_WITHIN:.0f} s", lambda f: f"{f.newest_within:.1%}"),
        ("messages sent", lambda f: str(f.messages)),
        ("bundles", lambda f: str(f.bundles)),
        ("429 answers", lambda f: str(f.too_many)),
    ]
    print(f"{'':<22}" + "".join(f"{mode:>14}" for mode in results))
    for label, show in rows:
        print(f"{label:<22}" + "".join(f"{show(f):>14}" for f in results.values()), flush=True)


if __name__ == "__main__":
    main()
