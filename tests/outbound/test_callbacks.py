"""The one grammar of callback data (bot/outbound/callbacks.py), its edges, and that every
button the bot builds fits it."""

from __future__ import annotations

import pytest

from bot.outbound.callbacks import BIGINT_MAX, parse_callback


@pytest.mark.parametrize(
    "data",
    [
        "ap:ok:17",
        "ap:hl:9223372036854775807",
        "ch:-1001000000001",
        "cs:-1001000000001:foreign-news",
        "today:0",
        "today:3:parliament",
        "sk:no:55",
        "lang:kk",
        "sw:-100:show_summary",
    ],
)
def test_the_shapes_the_bot_builds_parse(data: str) -> None:
    parsed = parse_callback(data)
    assert parsed is not None and ":".join((parsed.action, *parsed.args)) == data


@pytest.mark.parametrize(
    "data",
    [
        "ap:ok:17:extra",
        "ap:ok: 17",
        "ap:ok:17 ",
        "ap:ok:+17",
        "ap:ok:017",
        "ap:ok:١٧",
        "ap:ok:１７",  # fullwidth digits
        f"ap:ok:{BIGINT_MAX + 1}",
        "rel:" + "9" * 23,
        "rel:0",
        "rel:-5",
        "ch:0",
        "ch:-0",
        "ch:" + "-9" * 12,
        "today:10000",
        "ap:yes:17",
        "ap::17",
        "sub:Parliament",
        "sub:",
        "lang:english",
        "zzz:1",
        "",
        None,
        "rel:1" + "0" * 70,  # over 64 bytes
    ],
)
def test_anything_else_is_refused(data: str | None) -> None:
    assert parse_callback(data) is None


def test_the_buttons_built_outside_keyboards_fit_the_grammar() -> None:
    from bot.outbound.approval_preview import decision_buttons
    from bot.outbound.i18n import Catalogues
    from bot.outbound.render import related_button

    t = Catalogues.load().translator("en")
    assert parse_callback(related_button(BIGINT_MAX, t).callback_data) is not None
    rows = decision_buttons(BIGINT_MAX, t)
    assert all(parse_callback(button.callback_data) for row in rows for button in row)
