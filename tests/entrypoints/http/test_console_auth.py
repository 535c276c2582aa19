"""The console's sign-in over real HTTP: `Authorization: tma <initData>` on every API call,
401 for what proves nothing, 403 for who may not, and repeated failures slowed."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.entrypoints.http.console.auth import FAILURE_BURST, FailureThrottle
from tests.entrypoints.http.conftest import RunningBot, running_bot
from tests.entrypoints.http.console_helpers import as_user, console_settings, tma
from tests.entrypoints.telegram.conftest import EDITOR, STRANGER
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.feed_server import FeedServer
from tests.fakes.init_data import sign_fields, sign_init_data

EDITOR_PATHS = ["/console/api/stories", "/console/api/stories/1/trace", "/console/api/feeds"]


@pytest.fixture
async def console(
    tmp_path: Path, fake_api: FakeBotAPI, feed_server: FeedServer, feed_urls: list[str]
) -> AsyncIterator[RunningBot]:
    settings = console_settings(tmp_path, fake_api, feed_urls)
    async with running_bot(settings, fake_api) as running:
        yield running


def refusals(token: str) -> list[tuple[str, dict[str, str], str]]:
    """(what, headers, a word of the reason) for each kind of init data that proves nothing."""
    now = int(time.time())
    signed = sign_init_data(token, auth_date=now, user=as_user(EDITOR))
    fields = dict(parse_qsl(signed))
    forged = sign_init_data(token, auth_date=now, user=as_user(EDITOR)).replace(
        str(EDITOR.id), str(EDITOR.id + 1)
    )
    no_hash = "&".join(f"{key}={value}" for key, value in fields.items() if key != "hash")
    return [
        ("no header", {}, "missing"),
        ("another scheme", {"Authorization": f"Bearer {signed}"}, "not tma"),
        ("malformed", {"Authorization": "tma %zz&&=="}, "malformed"),
        ("no hash", {"Authorization": f"tma {no_hash}"}, "no hash"),
        ("forged", {"Authorization": f"tma {forged}"}, "signature"),
        ("another bot", tma("654321:OTHER-token", EDITOR), "signature"),
        ("expired", tma(token, EDITOR, auth_date=now - 3600 - 60), "expired"),
        ("ahead", tma(token, EDITOR, auth_date=now + 600), "ahead"),
    ]


async def test_init_data_that_proves_nothing_is_401_json_and_never_logged(
    console: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = console.api.token
    cases = refusals(token)
    assert len(cases) < FAILURE_BURST  # none of them is slowed yet
    async with console.client(token=None) as client:
        for what, headers, reason in cases:
            answer = await client.get("/console/api/session", headers=headers)
            assert answer.status_code == 401, (what, answer.text)
            assert answer.headers["content-type"] == "application/json", what
            assert answer.headers["www-authenticate"] == "tma"
            assert reason in answer.json()["error"], (what, answer.json())
            header = headers.get("Authorization", "")
            init_data = header.partition(" ")[2]
            assert not init_data or init_data not in answer.text, what
    # Neither init data nor a hash reaches the logs; the reasons do.
    for _, headers, _ in cases:
        for key, value in parse_qsl(headers.get("Authorization", "").partition(" ")[2]):
            if key in ("hash", "user", "query_id"):
                assert value not in caplog.text
    assert "sign-in refused" in caplog.text


async def test_editors_only_paths_refuse_a_valid_non_editor(console: RunningBot) -> None:
    token = console.api.token
    async with console.client(token=None) as client:
        session = await client.get("/console/api/session", headers=tma(token, STRANGER))
        assert session.status_code == 200, session.text
        assert session.json()["editor"] is False
        assert session.json()["chats"] == []
        for path in EDITOR_PATHS:
            refused = await client.get(path, headers=tma(token, STRANGER))
            assert refused.status_code == 403, (path, refused.text)
            assert refused.json()["error"] == "the console is for the newsroom's editors"
            # Without valid init data the answer is 401 before any editors' check.
            assert (await client.get(path)).status_code == 401
            allowed = await client.get(path, headers=tma(token, EDITOR))
            assert allowed.status_code in (200, 404), (path, allowed.text)
        assert (await client.get("/console/api/feeds", headers=tma(token))).status_code == 200


async def test_a_user_id_outside_the_signature_is_not_trusted(console: RunningBot) -> None:
    """Fields beside `user` are signed too; an unsigned copy of a field is refused."""
    token = console.api.token
    now = str(int(time.time()))
    signed = sign_fields(token, {"auth_date": now, "user": '{"id":555555555,"first_name":"M"}'})
    smuggled = signed + "&user=" + '{"id":111111111}'
    async with console.client(token=None) as client:
        answer = await client.get(
            "/console/api/stories", headers={"Authorization": f"tma {smuggled}"}
        )
    assert answer.status_code == 401
    assert "repeats" in answer.json()["error"]


async def test_repeated_failures_from_one_address_are_slowed(console: RunningBot) -> None:
    token = console.api.token
    forged = tma("654321:OTHER-token", EDITOR)
    async with console.client(token=None) as client:
        for _ in range(FAILURE_BURST):
            assert (await client.get("/console/api/session", headers=forged)).status_code == 401
        slowed = await client.get("/console/api/session", headers=forged)
        assert slowed.status_code == 429, slowed.text
        assert int(slowed.headers["retry-after"]) >= 1
        assert "error" in slowed.json()
        # Only failures wait: an editor behind the same address (a NAT, the proxy) still
        # signs in, so a guesser cannot lock the editors out.
        editor = await client.get("/console/api/session", headers=tma(token, EDITOR))
        assert editor.status_code == 200, editor.text
        assert (await client.get("/console/api/session", headers=forged)).status_code == 429
        # The page itself is not behind the sign-in.
        assert (await client.get("/console/")).status_code == 200


def test_the_failure_bucket_refills_and_valid_calls_never_spend_it() -> None:
    now = [1000.0]
    throttle = FailureThrottle(burst=3, per_minute=6, clock=lambda: now[0], max_addresses=2)
    assert throttle.retry_after("10.0.0.1") is None
    assert [throttle.failed("10.0.0.1") for _ in range(3)] == [False, False, True]
    assert throttle.retry_after("10.0.0.1") == 10  # 6 a minute: one every 10 s
    assert throttle.retry_after("10.0.0.2") is None  # another address is not slowed
    now[0] += 10
    assert throttle.retry_after("10.0.0.1") is None
    assert throttle.failed("10.0.0.1") is True
    assert throttle.retry_after("10.0.0.1") == 10
    # Addresses beyond the memory bound are forgotten oldest first (a full bucket again).
    throttle.failed("10.0.0.2")
    throttle.failed("10.0.0.3")
    assert throttle.retry_after("10.0.0.1") is None


async def test_without_console_url_there_is_no_console(bot: RunningBot) -> None:
    async with bot.client(token=None) as client:
        assert (await client.get("/console/")).status_code == 404
        answer = await client.get("/console/api/session", headers=tma(bot.api.token, EDITOR))
        assert answer.status_code == 404
