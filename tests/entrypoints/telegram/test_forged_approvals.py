"""Forged approval presses: `ap:` data of any shape but the exact one decides nothing.

A modified client sends any callback data on the desk's preview. Whatever follows the id
(`:extra`), a space before it, digits that are not ASCII (which `int()` reads) or an id no
BIGINT holds: the editor is told the button is no longer valid, the story still waits, and
no handler fails (no traceback, no "Something went wrong")."""

from __future__ import annotations

import logging

import pytest

from storage.states import ApprovalStatus, DeliveryStatus
from tests.entrypoints.telegram.conftest import Newsroom
from tests.entrypoints.telegram.test_approval import (
    CHANNEL,
    DESK,
    EDITOR,
    STORY,
    _approval,
    _preview,
    _publish,
    _statuses,
    _texts,
    desk,
    feed_urls,
)

__all__ = ["desk", "feed_urls"]

# The editor writes in Kazakh: "This button is no longer valid. Please send the command again."
NO_LONGER_VALID = "Бұл батырма енді жарамсыз. Команданы қайта жіберіңіз."
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def forged(approval_id: int) -> list[str]:
    return [
        f"ap:ok:{approval_id}:extra",
        f"ap:ok: {approval_id}",
        f"ap:ok:{approval_id} ",
        f"ap:ok:+{approval_id}",
        f"ap:ok:0{approval_id}",
        f"ap:ok:{str(approval_id).translate(ARABIC_INDIC)}",
        "ap:ok:" + "9" * 23,
        "ap:ok:9223372036854775808",
        f"ap:ok:{approval_id}:",
        f"ap::ok:{approval_id}",
        f"ap:yes:{approval_id}",
    ]


async def test_forged_approval_data_approves_nothing(
    desk: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    await _publish(desk, STORY)
    preview = await _preview(desk, STORY.title)
    approval = await _approval(desk)
    datas = forged(approval.id)
    before = len(desk.api.callback_answers)
    with caplog.at_level(logging.WARNING):
        for data in datas:
            desk.api.press_button(EDITOR, preview, data)
        await desk.api.wait_until(
            lambda: len(desk.api.callback_answers) >= before + len(datas), timeout=10
        )
    answers = desk.api.callback_answers[before:]
    assert [answer["text"] for answer in answers] == [NO_LONGER_VALID] * len(datas)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await desk.deliver_all()
    assert not any(STORY.title in text for text in _texts(desk, CHANNEL.id))
    unchanged = await _approval(desk)
    assert unchanged.status is ApprovalStatus.PENDING and unchanged.decided_by is None
    assert await _statuses(desk, approval.id) == [DeliveryStatus.AWAITING]
    assert [m.message_id for m in desk.api.messages_to(DESK.id)] == [preview.message_id]
    # The real button still works.
    desk.api.press_button(EDITOR, preview, f"ap:ok:{approval.id}")
    await desk.api.wait_until(lambda: len(desk.api.callback_answers) > before + len(datas))
    assert (await _approval(desk)).status is ApprovalStatus.APPROVED
