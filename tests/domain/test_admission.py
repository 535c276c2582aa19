"""Who gets a story, decided from plain values (bot/domain/admission.py): no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.admission import ApprovalDesk, admitted, judged_directly, pace_rule
from bot.domain.channel_rules import DeskPace, DeskRules, StoryText
from bot.domain.filters import DeskFilters

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ECONOMY = StoryText(1, "Tenge steadies", "The economy grows", ("economy",))
FOOTBALL = StoryText(2, "Astana wins", "A football match", ("sport",))


def rules(chat: int, *include: str) -> DeskRules:
    return DeskRules(destination_id=chat, version=1, include=include)


class Asked:
    """A judge that admits what its chat's includes name in the headline, and notes whom
    it was asked about."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def admits(self, rules: DeskRules, story: StoryText) -> bool:
        self.asked.append(rules.destination_id)
        return any(word in story.title for word in rules.include)


def test_filtered_chats_with_approval_are_left_to_the_desk() -> None:
    filtered = {1: rules(1, "economy"), 2: rules(2, "sport"), 3: rules(3, "weather")}
    assert judged_directly(filtered, {2, 9}) == {1: filtered[1], 3: filtered[3]}
    assert judged_directly(filtered, set()) == filtered


def test_a_filtered_chat_takes_what_its_filters_admit() -> None:
    filtered = {1: rules(1, "economy"), 2: rules(2, "football")}
    assert admitted([1, 2], filtered, DeskFilters(), ECONOMY) == [1]
    assert admitted([2, 1], filtered, DeskFilters(), FOOTBALL) == [2]


def test_without_a_judge_a_filtered_chat_takes_nothing() -> None:
    assert admitted([1], {1: rules(1, "economy")}, None, ECONOMY) == []


def test_only_candidates_with_rules_are_judged() -> None:
    judge = Asked()
    assert admitted([1, 5], {1: rules(1, "Tenge")}, judge, ECONOMY) == [1]
    assert judge.asked == [1]


def desk(judge: DeskFilters | None, *filtered: DeskRules) -> ApprovalDesk:
    """Chats 1-3 with approval, those in `filtered` with filters too."""
    by_chat = {rule.destination_id: rule for rule in filtered}
    return ApprovalDesk({1, 2, 3}, by_chat, judge, timedelta(hours=6))


def test_a_chat_with_approval_and_no_filters_holds_every_story() -> None:
    assert desk(None).admitted([1, 2, 3], ECONOMY) == [1, 2, 3]
    assert desk(None).admits(3, FOOTBALL)


def test_a_filtered_chat_with_approval_holds_only_what_its_filters_admit() -> None:
    approving = desk(DeskFilters(), rules(2, "football"))
    assert approving.admitted([1, 2, 3], ECONOMY) == [1, 3]
    assert approving.admitted([1, 2, 3], FOOTBALL) == [1, 2, 3]


def test_without_a_judge_a_filtered_chat_with_approval_holds_nothing() -> None:
    assert desk(None, rules(2, "economy")).admitted([1, 2], ECONOMY) == [1]


def test_a_story_held_for_approval_expires_after_the_desk_timeout() -> None:
    assert desk(None).expires_at(NOW) == NOW + timedelta(hours=6)


def test_a_chat_without_a_cap_or_quiet_hours_has_no_pace() -> None:
    assert pace_rule(None, None, None) is None
    assert pace_rule(None, None, "hold") is None


def test_a_paced_chat_keeps_its_cap_and_quiet_hours_silent_unless_told() -> None:
    assert pace_rule(4, None, None) == DeskPace(4, None, "silent")
    assert pace_rule(None, "23:00-07:00", None) == DeskPace(None, "23:00-07:00", "silent")
    assert pace_rule(None, "23:00-07:00", "hold") == DeskPace(None, "23:00-07:00", "hold")
