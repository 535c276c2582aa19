"""What the console's HTTP tests share: a bot with the console on, and signed-in headers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config import Settings
from tests.entrypoints.http.conftest import http_settings
from tests.fakes.bot_api import FakeBotAPI, FakeUser
from tests.fakes.init_data import sign_init_data

CONSOLE_URL = "https://console.news.example/newsbot/"


def console_settings(
    tmp_path: Path, api: FakeBotAPI, feed_urls: list[str], **extra: Any
) -> Settings:
    return http_settings(tmp_path, api, feed_urls, console_url=CONSOLE_URL, **extra)


def as_user(user: FakeUser) -> Mapping[str, Any]:
    """The `user` field Telegram puts in init data for this Telegram user."""
    fields: dict[str, Any] = {"id": user.id, "first_name": user.first_name}
    if user.language_code:
        fields["language_code"] = user.language_code
    return fields


def tma(
    token: str, user: FakeUser | None = None, *, auth_date: int | None = None
) -> dict[str, str]:
    """The Authorization header of a console opened by `user` (default: the editor)."""
    init_data = sign_init_data(
        token,
        auth_date=int(time.time()) if auth_date is None else auth_date,
        user=None if user is None else as_user(user),
    )
    return {"Authorization": f"tma {init_data}"}
