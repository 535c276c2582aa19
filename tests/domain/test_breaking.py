"""An editor's /breaking text becomes a draft: its link split off, nothing invisible kept."""

from __future__ import annotations

from bot.domain.breaking import split_link


def test_control_and_invisible_characters_never_reach_the_draft() -> None:
    draft = split_link("Quake\x00 in Almaty\x07\u202e felt\u200b widely https://www.inform.kz/q")
    assert draft.text == "Quake in Almaty felt widely"
    assert draft.link == "https://www.inform.kz/q"


def test_a_text_of_only_control_characters_is_empty() -> None:
    assert split_link("\x00\x01\x1f").text == ""
