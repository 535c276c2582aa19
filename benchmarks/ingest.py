"""Ingestion benchmark: a cold poll, a warm (all 304) poll, and bare feedparser on the same bytes.

Serves N generated feeds from a local HTTP server (loopback only), polls them all through the
real pipeline (httpx -> parse -> normalise -> SQLite or PostgreSQL), and prints:
feeds/s, stories/s, peak RSS memory, and cold-ingest time / bare-parse time.

    python benchmarks/ingest.py [--feeds 1000] [--items 50] [--database-url URL] [--workers N]

Targets on the 2-core reference machine: cold <= 60 s, warm <= 10 s, ratio <= 1.5,
peak memory <= 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import Settings
from bot.setup.core import open_core
from storage import stories as story_queries
from tests.fakes.feed_server import FeedServer

WORDS = [
    "Senate",
    "Speaker",
    "meets",
    "election",
    "observers",
    "parliament",
    "Astana",
    "Kazinform",
    "delegation",
    "reforms",
    "president",
    "elections",
    "constitutional",
    "balance",
    "powers",
    "regions",
    "observers",
    "mission",
    "campaign",
    "international",
    "organizations",
    "accredited",
    "monitor",
    "headquarters",
    "assists",
    "legislation",
]


def generate_feed(feed_no: int, items: int) -> bytes:
    """A realistic RSS 2.0 feed: categories, HTML descriptions, media images, guids."""
    base = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)
    entries = []
    for item in range(items):
        words = [WORDS[(feed_no * 7 + item * 3 + k) % len(WORDS)] for k in range(12)]
        title = " ".join(words[:8]).capitalize()
        description = (
            f"<p>ASTANA. KAZINFORM – {' '.join(words)} &amp; more.</p>"
            f"<p>{' '.join(reversed(words))}. {' '.join(words[3:])}.</p>"
        )
        published = format_datetime(base - timedelta(minutes=feed_no + item * 5))
        entries.append(
            f"<item><title>{title} {feed_no}-{item}</title>"
            f"<link>https://news.example.kz/{feed_no}/{item}?utm_source=rss</link>"
            f'<guid isPermaLink="false">bench-{feed_no}-{item}</guid>'
            f"<category>Parliament</category><pubDate>{published}</pubDate>"
            f"<description><![CDATA[{description}]]></description>"
            f'<media:content url="https://news.example.kz/img/{feed_no}/{item}.jpg" '
            f'medium="image"/></item>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        f"<title>Bench feed {feed_no}</title><link>https://news.example.kz/</link>"
        f"<language>en</language>{''.join(entries)}</channel></rss>"
    ).encode()


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


async def poll_all(settings: Settings) -> tuple[float, int, int]:
    """One poll of every feed through the real pipeline: (seconds, new stories, failures)."""
    async with open_core(settings) as core:
        started = time.perf_counter()
        outcomes = await core.poller.poll_all()
        elapsed = time.perf_counter() - started
        async with core.database.sessions() as session:
            await story_queries.count_stories(session)
    new = sum(outcome.new for outcome in outcomes)
    failures = sum(1 for outcome in outcomes if not outcome.ok)
    return elapsed, new, failures


def bare_parse(bodies: list[bytes]) -> float:
    started = time.perf_counter()
    for body in bodies:
        feedparser.parse(body)
    return time.perf_counter() - started


def serve_feeds(feeds: int, items: int, ready: Connection) -> None:
    """Child process: serve the generated feeds, so the server does not share the GIL with
    the bot being measured. Sends back the feed URLs, then serves until terminated."""
    server = FeedServer()
    urls = [
        server.add(f"/feed/{n}.xml", generate_feed(n, items), etag=f'"bench-{n}"')
        for n in range(feeds)
    ]
    ready.send(urls)
    signal.pause()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=2, help="parse worker processes")
    parser.add_argument("--concurrency", type=int, default=16, help="fetches at once")
    args = parser.parse_args()

    bodies = [generate_feed(n, args.items) for n in range(args.feeds)]
    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("fork").Process(
        target=serve_feeds, args=(args.feeds, args.items, sender), daemon=True
    )
    server.start()
    urls = receiver.recv()
    with tempfile.TemporaryDirectory() as scratch:
        database_url = args.database_url or f"sqlite:///{scratch}/bench.db"
        settings = Settings(
            database_url=database_url,
            parse_workers=args.workers,
            max_concurrent_fetches=args.concurrency,
            max_fetches_per_host=args.concurrency,
            sections=[{"slug": "parliament", "title": "Parliament", "categories": ["Parliament"]}],
            feeds=[{"url": url, "section": "parliament"} for url in urls],
        )
        cold, new, cold_failures = asyncio.run(poll_all(settings))
        warm, warm_new, warm_failures = asyncio.run(poll_all(settings))
    server.terminate()
    server.join()
    parse = bare_parse(bodies)
    stories = args.feeds * args.items
    print(
        f"feeds: {args.feeds} x {args.items} items ({stories} stories), "
        f"{sum(map(len, bodies)) / 1e6:.1f} MB of XML, parse workers: {args.workers}"
    )
    print(
        f"cold poll: {cold:7.2f} s  {args.feeds / cold:8.1f} feeds/s  {new / cold:9.1f} "
        f"stories/s  new={new} failures={cold_failures}"
    )
    print(
        f"warm poll: {warm:7.2f} s  {args.feeds / warm:8.1f} feeds/s  (all 304) "
        f"new={warm_new} failures={warm_failures}"
    )
    print(f"bare feedparser.parse: {parse:7.2f} s")
    print(f"ratio cold ingest / bare parse: {cold / parse:5.2f}")
    print(
        f"peak RSS: {peak_rss_mb():.0f} MB (newsbot's main process); largest child "
        f"(parse worker or feed server): {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )


if __name__ == "__main__":
    main()
