"""A chat's turn, decided from plain values (bot/domain/bundling.py): no database."""

from __future__ import annotations

from bot.domain.bundling import turns
from bot.domain.channel_rules import DeskPace
from bot.domain.outbox import DeliveryJob


def job(  # type: ignore[no-untyped-def]
    id: int, chat: int = 1, *, kind: str = "private", story: int | None = -1, **extra
) -> DeliveryJob:
    """A due delivery; a story's (100 + id) unless `story` or an `alert_id` says otherwise."""
    return DeliveryJob(
        id=id,
        destination_id=chat,
        chat_id=chat,
        chat_kind=kind,
        language="ru",
        story_id=None if "alert_id" in extra else (100 + id if story == -1 else story),
        alert_id=extra.pop("alert_id", None),
        attempts=0,
        **extra,
    )


def test_a_reader_s_waiting_stories_go_in_one_turn() -> None:
    (turn,) = turns([job(1), job(2), job(3)])
    assert turn.id == 1 and turn.members == ((2, 102), (3, 103))


def test_one_story_goes_alone() -> None:
    (turn,) = turns([job(1)])
    assert turn.id == 1 and turn.members == ()


def test_each_chat_gets_its_own_turn_in_the_order_claimed() -> None:
    first, second = turns([job(1, chat=7), job(2, chat=8), job(3, chat=7)])
    assert (first.destination_id, first.members) == (7, ((3, 103),))
    assert (second.destination_id, second.members) == (8, ())


def test_breaking_news_goes_alone_and_first() -> None:
    (turn,) = turns([job(1, alert_id=5), job(2), job(3)])
    assert turn.alert_id == 5 and turn.members == ()


def test_digests_channels_groups_and_held_roundups_are_not_bundled() -> None:
    assert turns([job(1, digest_slot="2026-12-05T09:00", story=None), job(2)])[0].members == ()
    for kind in ("channel", "group", "supergroup"):
        assert turns([job(1, kind=kind), job(2, kind=kind)])[0].members == ()
    assert turns([job(1, roundup=True, pace=DeskPace(1)), job(2)])[0].members == ()
    # A held story waiting for a roundup does not ride along in a reader's bundle.
    assert turns([job(1), job(2, roundup=True)])[0].members == ()


def test_a_turn_takes_at_most_max_bundle_stories() -> None:
    (turn,) = turns([job(n) for n in range(1, 10)], max_bundle=4)
    assert len(turn.members) == 3
