"""What storage hands the sender (bot/domain/outbox.py), from plain values: no database."""

from __future__ import annotations

from bot.domain.outbox import chat_ref


def test_a_chat_the_config_names_by_username_is_named_so_in_its_utm() -> None:
    assert chat_ref("@kazinform_ru", -1001) == "@kazinform_ru"


def test_any_other_chat_is_named_by_its_id() -> None:
    assert chat_ref(None, -1001) == "-1001"
    assert chat_ref("-1001", -1002) == "-1002"
    assert chat_ref("", 42) == "42"
