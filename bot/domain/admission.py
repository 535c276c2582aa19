"""Who gets a story: the fan-out's admission rules, over plain values (pure: no database).

The fan-out (storage/fan_out.py) takes each new story to the active chats subscribed to its
section that read its edition, by one of three roads:

- a chat with neither filters nor approval takes every such story. That decision is set-based
  and stays in SQL there (one INSERT … SELECT per story, whatever the number of chats: the
  fan-out reaches 100k chats), not here;
- a filtered chat without approval takes the story when its filters admit it (`admitted`);
  the filtered chats with approval are left to the desk (`judged_directly`);
- a chat with approval takes it, its filters first, held `awaiting` the editors' desk until a
  decision or `ApprovalDesk.expires_at` (`ApprovalDesk.admitted`).

A chat's pace and quiet hours (`pace_rule`) do not decide whether it gets a story, only when:
the sender plans each claimed story by them (bot/domain/pace.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.channel_rules import DeskJudge, DeskPace, DeskRules, StoryText


def judged_directly(
    rules: Mapping[int, DeskRules], approving: Collection[int]
) -> dict[int, DeskRules]:
    """The filtered chats whose stories go straight to the outbox when admitted: those
    without approval (filtered chats with approval are judged on the way to the desk, not
    queued directly)."""
    return {key: value for key, value in rules.items() if key not in approving}


def admitted(
    candidates: Iterable[int],
    rules: Mapping[int, DeskRules],
    judge: DeskJudge | None,
    story: StoryText,
) -> list[int]:
    """The filtered chats among `candidates` whose filters admit the story, in their order.

    Without a judge none is (a filtered chat never gets what it filters out); a candidate
    without rules here is not one of them.
    """
    if judge is None:
        return []
    return [
        destination_id
        for destination_id in candidates
        if destination_id in rules and judge.admits(rules[destination_id], story)
    ]


@dataclass(frozen=True, slots=True)
class ApprovalDesk:
    """What the fan-out knows of the chats with approval in this batch."""

    chats: set[int]
    rules: Mapping[int, DeskRules]
    judge: DeskJudge | None
    timeout: timedelta

    def admits(self, destination_id: int, text: StoryText) -> bool:
        """A chat without filters takes every story; a filtered one what its filters admit
        (none without a judge, as for filtered chats without approval)."""
        rules = self.rules.get(destination_id)
        if rules is None:
            return True
        return self.judge is not None and self.judge.admits(rules, text)

    def admitted(self, candidates: Iterable[int], text: StoryText) -> list[int]:
        """The chats among `candidates` whose deliveries of the story wait for the desk."""
        return [chat for chat in candidates if self.admits(chat, text)]

    def expires_at(self, now: datetime) -> datetime:
        """When a story opened for approval at `now` expires undecided."""
        return now + self.timeout


def pace_rule(
    max_posts_per_hour: int | None,
    quiet_hours: str | None,
    quiet_mode: str | None,
    roundup: bool | None = True,
) -> DeskPace | None:
    """A chat's pace from its rules, or None when it has no pace rule (neither a cap nor
    quiet hours); quiet hours without a mode are "silent", a cap without a word has its
    roundup."""
    if max_posts_per_hour is None and quiet_hours is None:
        return None
    return DeskPace(max_posts_per_hour, quiet_hours, quiet_mode or "silent", roundup is not False)
