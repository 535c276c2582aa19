"""`newsbot run` starting against a Bot API that refuses the token or is not there yet, and
the secrets that no path out of the process (logs, warnings, tracebacks) may ever carry."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from tests.entrypoints.http.conftest import API_TOKEN, OTHER_TOKEN, free_port
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.fakes.feed_server import FeedServer, fixture_bytes
from tests.test_cli import NEWSBOT, environment, write_config

WRONG_TOKEN = "424242:SECRET-wrong-token-9f8e7d"
WEBHOOK_SECRET = "hook-secret-5c4b3a"
REFUSED = "Telegram refused the bot token (401 Unauthorized): check TELEGRAM_BOT_TOKEN"
READER = FakeUser(id=777000111, first_name="Saule", language_code="en")
SECRETS = (WRONG_TOKEN, WRONG_TOKEN.split(":")[1], WEBHOOK_SECRET, API_TOKEN, OTHER_TOKEN)


def secrets_config(tmp_path: Path, urls: list[str], log_format: str, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        urls,
        f'log_format = "{log_format}"\nwebhook_secret = "{WEBHOOK_SECRET}"\n'
        f'api_tokens = ["{API_TOKEN}", "{OTHER_TOKEN}"]\nlong_poll_timeout = 1\n{extra}',
    )


def assert_no_secret(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, f"{secret!r} printed:\n{output}"


def assert_json_lines(output: str) -> list[dict[str, object]]:
    """Every line a JSON object (a log shipper parses them all), none a bare traceback."""
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_refused_token_stops_start_up_with_one_line_and_exit_code_2(
    tmp_path: Path, feed_server: FeedServer, log_format: str
) -> None:
    url = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"))
    config = secrets_config(tmp_path, [url], log_format)
    with FakeBotAPI() as api:  # its token is another one: every call is answered 401
        result = subprocess.run(
            [*NEWSBOT, "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=environment(
                tmp_path, TELEGRAM_BOT_TOKEN=WRONG_TOKEN, NEWSBOT_BOT_API_URL=api.base_url
            ),
        )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert_no_secret(output)
    if log_format == "json":
        messages = [line["message"] for line in assert_json_lines(output)]
    else:
        messages = output.splitlines()
    assert sum(REFUSED in message for message in messages) == 1, output
    assert not any("unreachable" in message for message in messages), output


SCRIPT = """
import asyncio, logging, sys, warnings
from bot.setup.logs import configure_logging

token = sys.argv[1]
configure_logging(secrets=[token], log_format=sys.argv[2])
warnings.warn(f"a library warns about {token}", UserWarning)
library = logging.getLogger("telegram.ext.Updater")
try:
    raise ConnectionError(f"POST /bot{token}/getUpdates failed")
except ConnectionError:
    library.error("request to %s failed", f"/bot{token}/getMe", exc_info=True, stack_info=True)
library.warning("extra fields too", extra={"url": f"/bot{token}/x", "params": {"t": token}})
quiet = logging.getLogger("some.library")  # its own handler, not propagating to root
quiet.addHandler(logging.StreamHandler())
quiet.propagate = False
quiet.warning("own handler: %s", token)
logging.getLogger("odd").warning("bad format %d", token)


async def main() -> None:
    def fail() -> None:
        raise RuntimeError(f"callback saw {token}")

    asyncio.get_running_loop().call_soon(fail)
    await asyncio.sleep(0.1)

asyncio.run(main())
raise RuntimeError(f"uncaught, with {token} in it")
"""


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_warnings_library_records_asyncio_errors_and_uncaught_exceptions_are_redacted(
    tmp_path: Path, log_format: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), WRONG_TOKEN, log_format],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert_no_secret(output)
    for seen in (
        "a library warns about [REDACTED]",
        "request to /bot[REDACTED]/getMe failed",
        "POST /bot[REDACTED]/getUpdates failed",  # the traceback
        "own handler: [REDACTED]",
        "callback saw [REDACTED]",  # asyncio's exception handler
        "uncaught, with [REDACTED] in it",  # sys.excepthook
    ):
        assert seen in output, (seen, output)
    if log_format == "json":  # all but the line of the library's own handler are JSON
        plain = [line for line in output.splitlines() if not line.startswith("{")]
        assert plain == ["own handler: [REDACTED]"], output
        lines = assert_json_lines("\n".join(set(output.splitlines()) - set(plain)))
        assert any("uncaught, with [REDACTED]" in str(line.get("exception")) for line in lines)


async def metric(client: httpx.AsyncClient, name: str) -> float:
    """The sum of a Prometheus counter's samples (0 when none yet)."""
    text = (await client.get("/metrics")).text
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name)]
    return sum(values)


async def wait_for_metric(client: httpx.AsyncClient, name: str, timeout: float = 20) -> float:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with_value = await metric(client, name)
        if with_value > 0:
            return with_value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} stayed 0 for {timeout}s")


async def wait_for_ready(client: httpx.AsyncClient, status: int, timeout: float = 20) -> None:  # noqa: ASYNC109
    """Wait until /readyz answers `status` (the server may not be listening yet)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            answer = await client.get("/readyz")
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if answer.status_code == status:
                return
            last = f"{answer.status_code} {answer.text}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never answered {status}; last: {last}")


async def test_bot_api_down_at_start_feeds_are_polled_and_the_bot_answers_once_it_is_up(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/en.xml", fixture_bytes("en_rss2.xml"), etag='"v1"')
    http_port, bot_api_port = free_port(), free_port()  # nothing listens on bot_api_port yet
    config = secrets_config(
        tmp_path, [url], "text", f'http_port = {http_port}\nhttp_host = "127.0.0.1"'
    )
    api = FakeBotAPI(port=bot_api_port)
    log_path = tmp_path / "newsbot.log"
    with log_path.open("w") as log_file:
        process = await asyncio.create_subprocess_exec(
            *NEWSBOT,
            "run",
            "--config",
            str(config),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=environment(
                tmp_path,
                TELEGRAM_BOT_TOKEN=api.token,
                NEWSBOT_BOT_API_URL=f"http://127.0.0.1:{bot_api_port}",
            ),
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}", timeout=5) as web:
            await wait_for_ready(web, 503)
            # Telegram is out of reach, and feeds are polled and stored all the same.
            assert await wait_for_metric(web, "newsbot_stories_stored_total") >= 6
            not_ready = await web.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["telegram"] != "ok"
            assert process.returncode is None
            with api:
                api.send_message(READER, "/help")
                await api.wait_for(lambda m: m.chat_id == READER.id, timeout=20)
                await wait_for_ready(web, 200, timeout=10)
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = log_path.read_text()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    warnings = [line for line in output.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "Bot API" in warnings[0], output
    assert_no_secret(output)
    assert api.token not in output and api.token.split(":")[1] not in output


def test_an_unreadable_secret_in_the_environment_is_a_one_line_config_error(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, [])
    result = subprocess.run(
        [*NEWSBOT, "poll", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=environment(tmp_path, NEWSBOT_API_TOKENS=API_TOKEN),  # not a JSON list
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert "api_tokens" in result.stderr
    assert API_TOKEN not in result.stdout + result.stderr
