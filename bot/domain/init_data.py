"""Who opened the console: Telegram Mini App init data, checked as Telegram documents it.

Telegram hands the console page a query string (`Telegram.WebApp.initData`) signed with the
bot's token; the page repeats it on every API call (`Authorization: tma <initData>`). It is the
console's only credential, so this module trusts nothing in it until the signature holds, and
afterwards only the signed user's id decides anything (editors are the config's `editors`).

The check (core.telegram.org/bots/webapps, "Validating data received via the Mini App"):
secret key = HMAC-SHA256(key "WebAppData", message = bot token); the expected `hash` is the hex
HMAC-SHA256, under that key, of the data-check string: every received field but `hash`, sorted
by key, as `key=value` lines joined by "\\n". Every other field is covered, `signature` too (the
Ed25519 signature Telegram adds for third parties is one more signed field here; Telegram's
published example with a `signature` validates only with it in the string). `auth_date` may be
at most `ttl` seconds old and at most a minute ahead of the clock (a user's clock may run a
little fast, a replayed string must not live forever).

Refusals name what was wrong in a few words and never echo the init data or its hash: the
reason reaches the client and the logs. Pure: the caller passes the clock (`now`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl

# Far above what Telegram sends (well under 2 KB with a user, a chat and a receiver), far
# below what would make parsing a cost: refused before it is parsed.
MAX_INIT_DATA_BYTES = 4096
# Telegram sends about a dozen fields; more is not init data.
MAX_FIELDS = 32
# How far ahead of our clock auth_date may be: the two clocks may disagree a little.
MAX_CLOCK_AHEAD = 60

_UNIX_TIME = re.compile(r"[0-9]{1,12}")


class InitDataRefused(Exception):
    """Init data that proves nothing: missing, malformed, forged, or out of date.

    `reason` is a short phrase safe to show the client and to log (no init data, no hash)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class InitDataUser:
    """The Telegram user whose init data was signed for this bot, as of `auth_date`.

    `user_id` is the only value to authorise by; the names are for display."""

    user_id: int
    first_name: str
    language_code: str | None
    auth_date: int
    # The signed `user` object as Telegram sent it (username, is_premium, photo_url, ...).
    user: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def web_app_secret(bot_token: str) -> bytes:
    """The key init data is signed with: HMAC-SHA256 of the token under "WebAppData"."""
    return hmac.new(b"WebAppData", bot_token.encode("utf-8"), hashlib.sha256).digest()


def validate_init_data(raw: str | None, bot_token: str, *, now: float, ttl: int) -> InitDataUser:
    """The user `raw` was signed for, if it was signed with `bot_token` within `ttl` seconds
    before `now` (a Unix time); otherwise `InitDataRefused` with the reason."""
    if not bot_token:
        raise ValueError("validate_init_data needs the bot token")
    fields = _parse(raw)
    given = fields.pop("hash", "")
    if not given:
        raise InitDataRefused("init data has no hash")
    expected = hmac.new(
        web_app_secret(bot_token), _data_check_string(fields).encode("utf-8"), hashlib.sha256
    ).hexdigest()
    # Both sides as bytes: compare_digest refuses non-ASCII str, and a malformed hash must
    # cost the same as a wrong one.
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8")):
        raise InitDataRefused("init data signature is not valid for this bot")
    auth_date = _auth_date(fields.get("auth_date"))
    if auth_date > now + MAX_CLOCK_AHEAD:
        raise InitDataRefused("init data is dated ahead of the clock")
    if now - auth_date > ttl:
        raise InitDataRefused("init data has expired; reopen the console")
    return _user(fields.get("user"), auth_date)


def _parse(raw: str | None) -> dict[str, str]:
    """The fields of `raw`, each once; refused when missing, oversized or not a query string."""
    if raw is None or not raw.strip():
        raise InitDataRefused("init data is missing")
    if len(raw) > MAX_INIT_DATA_BYTES:  # characters: never more than its bytes
        raise InitDataRefused("init data is too large")
    # Telegram percent-encodes everything (and an HTTP header carries no raw UTF-8): raw
    # non-ASCII is not init data Telegram sent.
    if not raw.isascii():
        raise InitDataRefused("init data is malformed")
    try:
        pairs = parse_qsl(
            raw,
            strict_parsing=True,
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except ValueError:  # also UnicodeDecodeError: percent-escapes that are not UTF-8
        raise InitDataRefused("init data is malformed") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            # Which copy a signature covers would depend on the parser: refuse both.
            raise InitDataRefused("init data repeats a field")
        fields[key] = value
    return fields


def _data_check_string(fields: Mapping[str, str]) -> str:
    """Every field but `hash` (already removed), sorted by key, `key=value`, one per line."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields))


def _auth_date(value: str | None) -> int:
    if value is None or not _UNIX_TIME.fullmatch(value):
        raise InitDataRefused("init data has no valid auth_date")
    return int(value)


def _user(value: str | None, auth_date: int) -> InitDataUser:
    """The signed `user` field, which a console launch always carries."""
    if value is None:
        raise InitDataRefused("init data names no user")
    try:
        user = json.loads(value)
    except (ValueError, RecursionError):
        raise InitDataRefused("init data user is malformed") from None
    if not isinstance(user, dict):
        raise InitDataRefused("init data user is malformed")
    user_id = user.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise InitDataRefused("init data user has no valid id")
    first_name = user.get("first_name")
    language = user.get("language_code")
    return InitDataUser(
        user_id=user_id,
        first_name=first_name if isinstance(first_name, str) else "",
        language_code=language if isinstance(language, str) and language else None,
        auth_date=auth_date,
        user=MappingProxyType(user),
    )
