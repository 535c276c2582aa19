"""Telegram's side of the console's sign-in: Mini App init data signed as Telegram signs it.

API and browser tests open the console as a given user with `sign_init_data(token, user=...,
auth_date=...)` and send the result as `Authorization: tma <init data>`. Written from Telegram's
description (core.telegram.org/bots/webapps), not from bot/domain/init_data.py, so a mistake
shared by the two cannot pass unnoticed; tests/domain/test_init_data.py checks both against
published examples signed by real bots.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

# A user as Telegram describes one in init data (WebAppUser); tests pass their own ids.
EDITOR = {"id": 111111111, "first_name": "Aigerim", "language_code": "kk"}


def sign_fields(bot_token: str, fields: Mapping[str, str]) -> str:
    """`fields` URL-encoded with the `hash` Telegram would add for `bot_token`'s bot: hex
    HMAC-SHA256 of the sorted `key=value` lines, keyed by HMAC-SHA256("WebAppData", token)."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    signed = {**fields, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}
    # Percent-encoded, spaces as %20, the way Telegram's clients send it.
    return urlencode(signed, quote_via=quote)


def sign_init_data(
    bot_token: str,
    *,
    auth_date: int,
    user: Mapping[str, Any] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The init data Telegram would hand the console of `bot_token`'s bot opened by `user`
    (default: EDITOR) at `auth_date` (a Unix time). `extra` adds or replaces fields
    (chat_type, signature, ...); the hash covers them all."""
    fields = {
        "auth_date": str(auth_date),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(dict(EDITOR if user is None else user), separators=(",", ":")),
        **(extra or {}),
    }
    return sign_fields(bot_token, fields)
