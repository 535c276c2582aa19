"""``python -m tests.fakes.bot_api``: the fake on its own, for benchmarks in another process.

Its first line of output (the URL) is what ``benchmarks/`` wait for: keep it as it is."""

from __future__ import annotations

import argparse
import signal
import threading

from tests.fakes.bot_api.server import FakeBotAPI


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; print the URL so a benchmark can find us."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.bot_api", description="Fake Telegram Bot API server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--bot-username", default="newsbot_test_bot")
    parser.add_argument("--rate", type=float, default=None, help="global messages/s")
    parser.add_argument("--paid-rate", type=float, default=1000.0)
    parser.add_argument("--per-chat-rate", type=float, default=1.0)
    parser.add_argument("--per-chat-burst", type=int, default=1)
    parser.add_argument("--group-per-minute", type=int, default=20)
    parser.add_argument("--no-enforce", action="store_true", help="record only, never answer 429")
    args = parser.parse_args(argv)
    fake = FakeBotAPI(
        token=args.token,
        bot_username=args.bot_username,
        rate_limit_global=args.rate,
        per_chat_rate=args.per_chat_rate,
        per_chat_burst=args.per_chat_burst,
        group_per_minute=args.group_per_minute,
        enforce_rate_limits=not args.no_enforce,
        paid_rate=args.paid_rate,
        host=args.host,
        port=args.port,
    )
    fake.start()
    print(
        f"FakeBotAPI listening on {fake.base_url} (PTB base_url={fake.ptb_base_url}, "
        f"token={fake.token}, control={fake.base_url}/_control/stats)",
        flush=True,
    )
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    finally:
        fake.stop()
    return 0
