"""Characters that reorder or hide text go; what a reader sees stays."""

from __future__ import annotations

from bot.domain.invisible import strip_invisible


def test_direction_overrides_zero_width_and_controls_go() -> None:
    assert strip_invisible("Quake\x00 in\u202e Almaty\u200b\ufeff\x07") == "Quake in Almaty"


def test_emoji_joiners_and_line_breaks_stay() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert strip_invisible(f"{family}\nline\ttab") == f"{family}\nline\ttab"
