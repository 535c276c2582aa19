"""A chat's editions in its order of preference (bot/domain/editions.py)."""

from __future__ import annotations

from bot.domain.editions import reading, reading_order

NEWSROOM = ("ru", "kk", "en")


def test_the_newsroom_s_order_when_the_interface_language_is_not_read() -> None:
    assert reading_order({"en", "ru"}, "de", NEWSROOM) == ("ru", "en")
    assert reading_order({"en", "kk", "ru"}, None, NEWSROOM) == ("ru", "kk", "en")


def test_the_interface_language_s_edition_comes_first() -> None:
    assert reading_order({"ru", "kk", "en"}, "en", NEWSROOM) == ("en", "ru", "kk")
    assert reading_order(["kk", "ru"], "kk", NEWSROOM) == ("kk", "ru")


def test_an_edition_no_longer_configured_comes_last() -> None:
    assert reading_order({"uz", "en", "de"}, None, NEWSROOM) == ("en", "de", "uz")
    assert reading_order({"uz", "en"}, "uz", NEWSROOM) == ("uz", "en")


def test_nothing_read_is_nothing() -> None:
    assert reading_order((), "ru", NEWSROOM) == ()


def test_a_newsroom_of_one_edition_needs_no_filter() -> None:
    assert reading(["ru"], "ru", ["ru"]) is None
    assert reading([], "en", ["kk", "ru", "en"]) is None


def test_lists_read_the_chats_editions_in_its_order() -> None:
    assert reading({"ru", "en"}, "en", ["kk", "ru", "en"]) == ("en", "ru")
