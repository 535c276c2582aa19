"""Fan-out benchmark: one breaking story to N destinations through the fake Bot API.

The fake Bot API runs as its own process and enforces Telegram's limits (30 messages/s
overall, 1/s per chat; 1,000/s with paid broadcast). newsbot runs here as deployed (its
long polling, scheduler and sender), and a reader asks /today in the middle of the fan-out.

    python benchmarks/fanout.py [--destinations 10000] [--paid] [--faults] [--repeat N]
                                [--database-url URL] [--editions] [--desk] [--channels]

With --channels the destinations are channels (one message each, so each channel's own
20-a-minute limit never binds; the overall 30 a second does).

With --editions the newsroom publishes in kk, ru and en, the story comes in three versions
(breaking news with a `kk:`, `ru:` and `en:` line) and the audience is 45% ru, 35% kk, 10% en
readers and 10% reading two editions; it checks that every destination got the story once, in
an edition it reads.

With --desk the fan-out is a story (not breaking news) and one destination in ten has a
channel desk: filters (words and a regular expression each, all admitting the story) and a
template, 100 distinct templates among them (half with a utm naming the chat). It also prints
the rendering and filtering cost per message, p50/p95 (target <= 0.3 ms at p95): a message's
filter judgement, its share of a render (the one message that waited for it), and its utm.

Prints the sustained rate, the 429 answers, the busiest second the fake counted, p50/p95 of
confirm-to-delivery, and the /today latency (with --repeat, each run and the ranges).
Targets: >= 28.5 messages/s with zero 429 (paid: >= 500/s), /today < 1 s. newsbot runs with
its configured defaults (send_rate, paid_send_rate) unless --rate/--paid-rate say otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bot.delivery.compose as compose
import bot.domain.filters as filters
from bot.config import Settings
from bot.delivery.sender import Sender
from bot.domain.breaking import Draft
from bot.domain.channel_rules import DeskFormat, DeskRules, DeskSettings
from bot.setup.core import open_core
from bot.setup.logs import configure_logging
from bot.setup.scheduling import wake_delivery
from bot.setup.telegram_side import telegram_running
from storage.channel_rules import write_rules
from storage.models import Delivery, Destination, DestinationEdition, Story, Subscription

EDITOR_ID = 1
READER_ID = 999_999_999
FIRST_CHAT = 10_000
FIRST_CHANNEL = -1_001_000_000_000
# The story in three versions (--editions): each chat must get the one of an edition it reads.
VERSIONS = {
    "kk": "Шұғыл: бенчмарк хабары",
    "ru": "Срочно: сообщение бенчмарка",
    "en": "Breaking: benchmark alert",
}


def audience(n: int) -> tuple[str, tuple[str, ...]]:
    """The n-th reader's interface language and editions (--editions): of every 20, 9 read
    ru, 7 kk, 2 en and 2 read two (kk and ru, one with Telegram in ru, one in en)."""
    slot = n % 20
    if slot < 9:
        return "ru", ("ru",)
    if slot < 16:
        return "kk", ("kk",)
    if slot < 18:
        return "en", ("en",)
    return ("ru" if slot == 18 else "en"), ("kk", "ru")


def start_fake(rate: float, paid_rate: float, port: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.bot_api",
            "--port",
            str(port),
            "--rate",
            str(rate),
            "--paid-rate",
            str(paid_rate),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    url = line.split(" listening on ")[1].split(" ")[0]
    return process, url


def control(base_url: str, action: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base_url}/_control/{action}",
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        payload = json.loads(response.read())
    return payload.get("result", payload) if isinstance(payload, dict) else payload


def chat_id_of(n: int, channels: bool) -> int:
    """The n-th destination's chat: a reader's private chat, or (--channels) a channel."""
    return FIRST_CHANNEL - n if channels else FIRST_CHAT + n


async def seed(
    core: Any, count: int, editions: bool, language: str = "en", *, channels: bool = False
) -> None:
    """N readers subscribed to one section: the audience of a breaking story (with
    `editions`, in the languages and editions `audience` gives; else all reading the one
    edition `language`); with `channels`, N channels instead of readers."""
    now = datetime.now(UTC)
    destinations = [
        {
            "chat_id": chat_id_of(n, channels),
            "kind": "channel" if channels else "private",
            "language": audience(n)[0] if editions else language,
            "active": True,
            "breaking": True,
            "created_at": now,
            "updated_at": now,
            "digest": False,
        }
        for n in range(count)
    ]
    async with core.database.sessions.begin() as session:
        await session.execute(Destination.__table__.insert(), destinations)
        ids = (await session.scalars(select(Destination.id))).all()
        await session.execute(
            Subscription.__table__.insert(),
            [{"destination_id": i, "section": "politics", "created_at": now} for i in ids],
        )
        if editions or language != "en":
            by_chat = dict(
                (await session.execute(select(Destination.chat_id, Destination.id))).all()
            )
            await session.execute(
                DestinationEdition.__table__.insert(),
                [
                    {"destination_id": by_chat[chat_id_of(n, channels)], "edition": edition}
                    for n in range(count)
                    for edition in (audience(n)[1] if editions else (language,))
                ],
            )


# --desk: one destination in DESK_EVERY has filters and a template, TEMPLATES distinct ones.
DESK_EVERY = 10
TEMPLATES = 100
STORY_TITLE = "Бенчмарк: Сенат принял закон о цифровых платформах"
STORY_SUMMARY = (
    "Сенаторы одобрили закон о цифровых платформах во втором чтении. Документ вводит "
    "правила для маркетплейсов и сервисов доставки; он вступит в силу через шесть месяцев."
)


def desk_format(n: int) -> DeskFormat:
    """The n-th styled chat's format: one of TEMPLATES, every other one with a utm."""
    variant = n % TEMPLATES
    template = (
        f"<b>{{{{ title }}}}</b>\n\n{{{{ summary }}}}\n\n"
        f"{{{{ hashtags }}}} · {{{{ date }}}}, {{{{ time }}}} <i>#{variant}</i>"
    )
    utm = "utm_source=telegram&utm_campaign={chat}" if variant % 2 else None
    return DeskFormat(template=template, utm=utm, read_button=f"Читать {variant}")


def desk_rules(destination_id: int, n: int) -> DeskRules:
    """Words and a regular expression that all admit the story (so every chat gets it)."""
    return DeskRules(
        destination_id,
        0,
        include=("Сенат", f"слово{n}", "цифровые платформы"),
        exclude=(f"реклама{n}",),
        include_regex=(rf"(?i)закон\w*|x{n}",),
        exclude_regex=(r"(?i)\bsponsored\b",),
    )


async def seed_desk(core: Any, count: int) -> None:
    """One chat in DESK_EVERY gets its desk: filters and a template (write_rules, as the
    config or the admin screens store them)."""
    now = datetime.now(UTC)
    async with core.database.sessions.begin() as session:
        rows = (await session.execute(select(Destination.id, Destination.chat_id))).all()
        for destination_id, chat_id in rows:
            n = chat_id - FIRST_CHAT
            if n % DESK_EVERY == 0:
                index = n // DESK_EVERY
                settings = DeskSettings(desk_rules(destination_id, n), desk_format(index))
                await write_rules(session, destination_id, settings, now)


async def publish_story(core: Any) -> int:
    """A new story in the subscribed section, for the next fan-out."""
    now = datetime.now(UTC)
    async with core.database.sessions.begin() as session:
        story = Story(
            identity="benchmark-story",
            link="https://www.inform.kz/ru/benchmark?id=1",
            title=STORY_TITLE,
            summary=STORY_SUMMARY,
            section="politics",
            language="ru",
            edition="ru",
            published_at=now,
            first_seen_at=now,
            updated_at=now,
            content_hash="benchmark",
            pushable=True,
            categories=["Парламент", "Цифровизация"],
        )
        session.add(story)
        await session.flush()
        return story.id


class DeskCosts:
    """Time spent filtering (per chat, at fan-out) and rendering (per message, at send),
    measured by wrapping the functions that do it in this process."""

    def __init__(self) -> None:
        self.filtering: dict[int, float] = {}
        self.messages: list[float] = []
        self.renders = 0
        self._cell: contextvars.ContextVar[list[float]] = contextvars.ContextVar("cell")

    def install(self) -> None:
        admits = filters.DeskFilters.admits
        render_story = compose.render_story
        for_chat = compose.for_chat
        message_for = Sender._message_for
        costs = self

        def timed_admits(judge: Any, rules: Any, story: Any) -> bool:
            started = time.perf_counter()
            try:
                return admits(judge, rules, story)
            finally:
                elapsed = time.perf_counter() - started
                costs.filtering[rules.destination_id] = (
                    costs.filtering.get(rules.destination_id, 0.0) + elapsed
                )

        def timed(function: Any, counted: bool) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    cell = costs._cell.get(None)
                    if cell is not None:
                        cell[0] += time.perf_counter() - started
                    if counted:
                        costs.renders += 1

            return wrapper

        async def timed_message_for(sender: Any, job: Any) -> Any:
            cell = [costs.filtering.get(job.destination_id, 0.0)]
            costs._cell.set(cell)  # the render task (if this message starts it) copies it
            try:
                return await message_for(sender, job)
            finally:
                costs.messages.append(cell[0])

        filters.DeskFilters.admits = timed_admits  # type: ignore[method-assign]
        compose.render_story = timed(render_story, True)  # type: ignore[assignment]
        compose.for_chat = timed(for_chat, False)  # type: ignore[assignment]
        Sender._message_for = timed_message_for  # type: ignore[method-assign]


def check_editions(messages: list[dict[str, Any]], count: int) -> dict[str, int]:
    """Every destination got the story exactly once, in an edition it reads: raises if not.
    Returns how many got each edition's version."""
    got: dict[int, list[str]] = {}
    for message in messages:
        for edition, text in VERSIONS.items():
            if text in (message.get("text") or ""):
                got.setdefault(message["chat_id"], []).append(edition)
    per_edition = dict.fromkeys(VERSIONS, 0)
    for n in range(count):
        received = got.get(FIRST_CHAT + n, [])
        reads = audience(n)[1]
        if len(received) != 1 or received[0] not in reads:
            raise AssertionError(f"chat {FIRST_CHAT + n} reads {reads} but got {received}")
        per_edition[received[0]] += 1
    return per_edition


async def sent_count(core: Any) -> int:
    async with core.database.sessions() as session:
        query = select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        return int(await session.scalar(query) or 0)


async def controlled(base_url: str, action: str, body: dict[str, Any] | None = None) -> Any:
    """`control` from a thread: the benchmark must not stall the event loop it measures."""
    return await asyncio.to_thread(control, base_url, action, body)


async def ask_today(base_url: str, timeout: float = 30.0) -> float | None:  # noqa: ASYNC109
    """Send /today as a reader (via the fake) and time the bot's answer (None: no answer)."""
    since = await controlled(base_url, "sent_count")  # look only at what is sent from now on
    asked = time.time()
    await controlled(base_url, "send_message", {"user": {"id": READER_ID}, "text": "/today"})
    while time.time() - asked < timeout:
        replies = await controlled(base_url, f"sent?chat_id={READER_ID}&since={since}")
        if replies:
            return float(replies[0]["time"] - asked)
        await asyncio.sleep(0.02)
    return None


async def make_chaos(base_url: str) -> None:
    """Alternate 10% 502s with up to 2 s of latency, and storms of 429 (retry after 2 s)."""
    while True:
        await controlled(
            base_url, "inject_failures", {"status": 502, "ratio": 0.1, "latency": [0, 2]}
        )
        await asyncio.sleep(10)
        await controlled(
            base_url,
            "inject_failures",
            {"status": 429, "ratio": 0.5, "retry_after": 2, "count": 40},
        )
        await asyncio.sleep(5)


async def run(args: argparse.Namespace, base_url: str, database_url: str) -> dict[str, Any]:
    rates: dict[str, float] = {}
    if args.rate is not None:
        rates["send_rate"] = args.rate
    if args.paid_rate is not None:
        rates["paid_send_rate"] = args.paid_rate
    settings = Settings(
        database_url=database_url,
        bot_api_url=base_url,
        telegram_bot_token="123456:TEST-token",
        editors=[EDITOR_ID],
        sections=[{"slug": "politics", "title": "Politics"}],
        editions=list(VERSIONS) if args.editions else [],
        # --desk: a Russian newsroom (its story in the one edition every chat reads).
        language="ru" if args.desk else "en",
        allow_paid_broadcast=args.paid,
        long_poll_timeout=1,
        parse_workers=0,
        **rates,
    )
    costs = DeskCosts()
    async with open_core(settings) as core:
        language = "ru" if args.desk else "en"
        await seed(core, args.destinations, args.editions, language, channels=args.channels)
        if args.desk:
            await seed_desk(core, args.destinations)
            costs.install()
        scheduler = AsyncIOScheduler(timezone=UTC)
        token = "123456:TEST-token"
        async with telegram_running(core, token, scheduler) as side:
            scheduler.start()
            draft = (
                Draft(VERSIONS["kk"], None, texts=dict(VERSIONS))
                if args.editions
                else Draft(VERSIONS["en"], None)
            )
            chaos = asyncio.create_task(make_chaos(base_url)) if args.faults else None
            if args.desk:
                story_id = await publish_story(core)
                confirmed = time.time()
            else:
                alert = await side.services.breaking.draft(EDITOR_ID, EDITOR_ID, draft)
                confirmed = time.time()
                await side.services.breaking.confirm(alert.id)
            wake_delivery(scheduler)
            today_latency: float | None = None
            asked = False
            while (done := await sent_count(core)) < args.destinations:
                if not asked and done >= args.destinations // 5:
                    asked = True
                    today_latency = await ask_today(base_url)
                await asyncio.sleep(0.2)
            finished = time.time()
            if chaos is not None:
                chaos.cancel()
            # The tick ends by reporting to the editor; let it, rather than cut it short.
            for _ in range(0 if args.desk else 100):
                if await controlled(base_url, f"sent?chat_id={EDITOR_ID}"):
                    break
                await asyncio.sleep(0.1)
            scheduler.shutdown(wait=False)
        async with core.database.sessions() as session:
            which = Delivery.story_id == story_id if args.desk else Delivery.alert_id == alert.id
            sent_at = (await session.scalars(select(Delivery.sent_at).where(which))).all()
    latencies = sorted(moment.timestamp() - confirmed for moment in sent_at if moment)
    return {
        "confirmed": confirmed,
        "finished": finished,
        "latencies": latencies,
        "today_latency": today_latency,
        "costs": costs,
    }


def measure(args: argparse.Namespace, port: int) -> dict[str, Any]:
    """One run against a fresh fake and a fresh database; prints and returns its figures."""
    fake, base_url = start_fake(30.0, 1000.0, port)
    try:
        if args.channels:  # channels exist at the fake as they would at Telegram
            chats = [
                {"id": chat_id_of(n, True), "type": "channel", "title": f"Channel {n}"}
                for n in range(args.destinations)
            ]
            control(base_url, "register_chat", {"chats": chats})
        with tempfile.TemporaryDirectory() as scratch:
            database_url = args.database_url or f"sqlite:///{scratch}/fanout.db"
            result = asyncio.run(run(args, base_url, database_url))
        stats = control(base_url, "stats")
        per_edition = (
            check_editions(control(base_url, "sent"), args.destinations) if args.editions else None
        )
    finally:
        fake.terminate()
        fake.wait()
    sends = stats["sent_total"]
    span = (stats["last_send_time"] or 0) - (stats["first_send_time"] or 0)
    latencies = result["latencies"]
    figures = {
        "rate": sends / span,
        "429": stats["too_many_requests"],
        "busiest": max(stats["busiest_second"], stats["busiest_second_paid"]),
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95) - 1],
        "today_ms": (result["today_latency"] or float("inf")) * 1000,
    }
    fields = Settings.model_fields
    rate = (
        (args.paid_rate or fields["paid_send_rate"].default)
        if args.paid
        else (args.rate or fields["send_rate"].default)
    )
    print(
        f"destinations: {args.destinations}, paid broadcast: {args.paid}, "
        f"newsbot send_rate: {rate}/s"
    )
    print(f"messages sent: {sends} in {span:.1f} s -> sustained {figures['rate']:.1f} messages/s")
    print(
        f"429 answers: {stats['too_many_requests']}, duplicates: {stats['duplicates']}, "
        f"chats reached: {stats['chats']}, failures injected: {stats['failures_injected']}"
    )
    print(
        f"busiest second at the fake: {stats['busiest_second']} messages "
        f"(paid: {stats['busiest_second_paid']}); Telegram's limits 30 (paid 1000)"
    )
    if per_edition is not None:
        versions = ", ".join(f"{edition} {count}" for edition, count in per_edition.items())
        print(
            f"editions: all {args.destinations} destinations got the story once, in an edition "
            f"they read ({versions})"
        )
    print(f"confirm-to-delivery p50 {figures['p50']:.1f} s, p95 {figures['p95']:.1f} s")
    latency = result["today_latency"]
    answered = f"in {latency * 1000:.0f} ms" if latency is not None else "NOT within 30 s"
    print(f"/today answered mid-fan-out {answered}", flush=True)
    if args.desk:
        figures.update(desk_figures(result["costs"], args.destinations))
    return figures


def desk_figures(costs: DeskCosts, count: int) -> dict[str, float]:
    """Print and return the desk's cost per message (filtering + rendering, ms)."""
    spent = sorted(cost * 1000 for cost in costs.messages)
    figures = {
        "desk_p50": statistics.median(spent),
        "desk_p95": spent[int(len(spent) * 0.95) - 1],
        "desk_max": spent[-1],
    }
    filtered = len(costs.filtering)
    print(
        f"desk: {filtered} chats with filters judged, {count // DESK_EVERY} with one of "
        f"{TEMPLATES} templates; {costs.renders} renders for {len(spent)} messages"
    )
    print(
        f"rendering+filtering per message: p50 {figures['desk_p50']:.3f} ms, "
        f"p95 {figures['desk_p95']:.3f} ms, max {figures['desk_max']:.1f} ms "
        f"(mean {statistics.fmean(spent):.3f} ms; target p95 <= 0.3 ms)",
        flush=True,
    )
    return figures


def main() -> None:
    configure_logging(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--destinations", type=int, default=10_000)
    parser.add_argument("--paid", action="store_true", help="allow_paid_broadcast")
    parser.add_argument("--faults", action="store_true", help="502s, latency, 429 storms")
    parser.add_argument("--rate", type=float, default=None, help="newsbot's send_rate")
    parser.add_argument("--paid-rate", type=float, default=None, help="its paid_send_rate")
    parser.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh fake")
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--editions", action="store_true", help="kk/ru/en, three versions")
    parser.add_argument("--channels", action="store_true", help="channels, not private chats")
    parser.add_argument(
        "--desk", action="store_true", help="a story; 1 chat in 10 with filters and a template"
    )
    args = parser.parse_args()
    if args.database_url and args.repeat > 1:
        parser.error("--repeat needs a fresh database per run (leave --database-url out)")
    runs = []
    for number in range(args.repeat):
        if args.repeat > 1:
            print(f"--- run {number + 1} of {args.repeat}")
        runs.append(measure(args, args.port))
    if args.repeat > 1:
        print(f"--- ranges over {args.repeat} runs")
        for name, unit in (
            ("rate", "messages/s"),
            ("429", "answers"),
            ("busiest", "messages in one second"),
            ("p50", "s"),
            ("p95", "s"),
            ("today_ms", "ms"),
            *((("desk_p50", "ms"), ("desk_p95", "ms")) if args.desk else ()),
        ):
            values = [run[name] for run in runs]
            print(f"{name}: {min(values):.1f} .. {max(values):.1f} {unit}")


if __name__ == "__main__":
    main()
