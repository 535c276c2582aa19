"""A story's chats without an outbox row for it, read as sets of chat ids (its trace).

A story is meant for its section's subscribers reading its edition, inactive chats included:
its audience. The fan-out writes no row for a chat that holds another version of the story's
group, an inactive chat, or a chat whose desk filters leave the story out; and before the
fan-out (or for the backlog, never pushed) no chat has one. Those chats are read here, from
indexes that list chat ids in order: a section's subscribers (`ix_subscriptions_section`), an
edition's readers (`ix_destination_editions_edition`) and a story's rows
(`ix_deliveries_story`), never by probing the outbox once per chat (100k chats):

- on SQLite, one compound SELECT per set: INTERSECT / EXCEPT ordered by the id, which SQLite
  runs as a merge of the sorted indexes (a set of 100k chats in about 25 ms);
- on PostgreSQL, the same set as EXISTS / NOT EXISTS, which it runs as hash joins.

When at most FEW chats lack a row (a story fanned out), they are read and classified one by
one. When more do, the set is counted, and only its exceptions are read: the inactive chats
and the chats with filters (driven from those, a few), and the holders of another version
(a set of their own per version); the rest are the plain chats, counted by difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain.trace import ChatFacts, Facts, StoryFacts
from storage.models import (
    ChannelRule,
    Delivery,
    Destination,
    DestinationEdition,
    Story,
    Subscription,
)

# At most this many chats of a set are read as ids; a bigger set is counted.
FEW = 2000
# The versions of a story group looked at (one per edition, a handful).
MAX_VERSIONS = 16
# What the chats without a row that hold another version are counted as (its outcome
# depends on nothing else).
OTHER_VERSION = Facts(other_version=True)
# A chat without a row that is active, unfiltered and holds no other version.
PLAIN = Facts()


@dataclass(frozen=True, slots=True)
class _Counted:
    """A set of chat ids: all of them (at most FEW), or only how many."""

    count: int
    ids: list[int] | None


class Rowless:
    """The audience of one story without a row for it: `counts`, then `samples`."""

    def __init__(self, session: AsyncSession, story: StoryFacts, versions: Sequence[int]) -> None:
        assert story.section is not None
        self._session = session
        self._story = story
        self._versions = tuple(versions)
        self._sets = _Sets(session, story, self._versions)
        # Few: each chat's facts, and the version it holds (chat order).
        self._few: dict[Facts, list[tuple[int, int | None]]] | None = None
        # Many: the holders of each other version.
        self._holders: dict[int, _Counted] = {}

    @classmethod
    async def of(cls, session: AsyncSession, story: StoryFacts) -> Rowless:
        group = await session.scalar(select(Story.group_id).where(Story.id == story.id))
        versions = await session.scalars(
            select(Story.id)
            .where(Story.group_id == (story.id if group is None else group), Story.id != story.id)
            .order_by(Story.id)
            .limit(MAX_VERSIONS)
        )
        return cls(session, story, list(versions))

    async def counts(self) -> dict[Facts, int]:
        rowless = self._sets.rowless()
        few = await self._sets.first(rowless, FEW + 1)
        if len(few) <= FEW:
            self._few = await self._classify(few)
            return {facts: len(chats) for facts, chats in self._few.items()}
        total, self._holders = await self._sets.tally(self._versions)
        counts: dict[Facts, int] = {}
        holding = sum(holders.count for holders in self._holders.values())
        if holding:
            counts[OTHER_VERSION] = holding
        for active, filtered, count in await self._session.execute(self._exception_counts()):
            if count:
                counts[Facts(active=bool(active), filtered=bool(filtered))] = int(count)
        plain = total - sum(counts.values())
        if plain > 0:
            counts[PLAIN] = plain
        return counts

    async def samples(self, facts: Facts, limit: int) -> list[ChatFacts]:
        """The first `limit` chats (by chat) without a row that have these facts."""
        chosen: list[tuple[int, int | None]]
        if self._few is not None:
            chosen = self._few.get(facts, [])[:limit]
        elif facts == OTHER_VERSION:
            chosen = await self._holders_of(limit)
        elif facts == PLAIN:
            ids = await self._sets.first(self._sets.rowless(plain=True), limit)
            chosen = [(chat, None) for chat in ids]
        else:
            query = self._exceptions(facts).limit(limit)
            chosen = [(chat, None) for chat in await self._session.scalars(query)]
        return await self._details(facts, chosen)

    async def _holders_of(self, limit: int) -> list[tuple[int, int | None]]:
        chosen: list[tuple[int, int | None]] = []
        for version, holders in self._holders.items():
            wanted = limit - len(chosen)
            if wanted <= 0:
                break
            ids = holders.ids
            if ids is None:
                ids = await self._sets.first(self._sets.rowless(holding=version), wanted)
            chosen.extend((chat, version) for chat in ids[:wanted])
        return chosen

    async def _classify(self, ids: list[int]) -> dict[Facts, list[tuple[int, int | None]]]:
        """Each of these chats' facts (few of them), and the other version each holds."""
        found: dict[Facts, list[tuple[int, int | None]]] = {}
        if not ids:
            return found
        columns: list[Any] = [
            Destination.id,
            Destination.active,
            func.coalesce(ChannelRule.filtered, false()),
        ]
        query = select(*columns).outerjoin(
            ChannelRule, ChannelRule.destination_id == Destination.id
        )
        if self._versions:
            query = query.add_columns(Delivery.story_id).outerjoin(
                Delivery,
                (Delivery.destination_id == Destination.id) & Delivery.story_id.in_(self._versions),
            )
        seen: set[int] = set()
        order = [Destination.id, *([Delivery.story_id] if self._versions else [])]
        for row in await self._session.execute(
            query.where(Destination.id.in_(ids)).order_by(*order)
        ):
            if row[0] in seen:  # a chat holding two versions: under the first (`_before`)
                continue
            seen.add(row[0])
            version = row[3] if self._versions else None
            if version is not None:
                found.setdefault(OTHER_VERSION, []).append((row[0], version))
            else:
                facts = Facts(active=bool(row[1]), filtered=bool(row[2]))
                found.setdefault(facts, []).append((row[0], None))
        return found

    def _in_rowless(self, chat: Any) -> list[ColumnElement[bool]]:
        """`chat` (a destination id column) is of the audience, with no row for the story
        nor for another version of it (probed per chat: only for the few exceptions)."""
        story = self._story
        conditions: list[ColumnElement[bool]] = [
            exists().where(
                Subscription.destination_id == chat, Subscription.section == story.section
            ),
            ~exists().where(
                Delivery.destination_id == chat,
                Delivery.story_id.in_((story.id, *self._versions)),
            ),
        ]
        if story.edition is not None:
            conditions.append(
                exists().where(
                    DestinationEdition.destination_id == chat,
                    DestinationEdition.edition == story.edition,
                )
            )
        return conditions

    def _inactive(self, *columns: Any) -> Select[Any]:
        """The inactive chats without a row, driven from ix_destinations_active_kind."""
        return select(*columns).where(
            Destination.active.is_(False), *self._in_rowless(Destination.id)
        )

    def _with_filters(self, *columns: Any) -> Select[Any]:
        """The active chats with filters without a row, driven from their rules (the only
        table read in turn: a chat's state is probed, so no planner starts from the chats)."""
        chat = ChannelRule.destination_id
        active = exists().where(Destination.id == chat, Destination.active.is_(True))
        return select(*columns).where(
            ChannelRule.filtered.is_(True), active, *self._in_rowless(chat)
        )

    def _exceptions(self, facts: Facts) -> Select[Any]:
        """The chats without a row with these facts (inactive, or with filters)."""
        if facts.active:
            return self._with_filters(ChannelRule.destination_id.label("id")).order_by("id")
        filtered = exists().where(
            ChannelRule.destination_id == Destination.id, ChannelRule.filtered.is_(True)
        )
        return (
            self._inactive(Destination.id.label("id"))
            .where(filtered if facts.filtered else ~filtered)
            .order_by("id")
        )

    def _exception_counts(self) -> Any:
        """(active, filtered, chats) of the inactive and the filtered chats without a row."""
        filtered = exists().where(
            ChannelRule.destination_id == Destination.id, ChannelRule.filtered.is_(True)
        )
        inactive = self._inactive(
            false().label("active"), filtered.label("filtered"), func.count()
        ).group_by("filtered")
        with_filters = self._with_filters(
            literal(True).label("active"), literal(True).label("filtered"), func.count()
        )
        return inactive.union_all(with_filters)

    async def _details(self, facts: Facts, chosen: list[tuple[int, int | None]]) -> list[ChatFacts]:
        if not chosen:
            return []
        query = select(
            Destination.id,
            Destination.chat_id,
            Destination.kind,
            Destination.title,
            Destination.inactive_reason,
        ).where(Destination.id.in_([chat for chat, _ in chosen]))
        chats = {row.id: row for row in await self._session.execute(query)}
        return [
            ChatFacts(
                chat_id=chats[chat].chat_id,
                kind=chats[chat].kind,
                title=chats[chat].title,
                facts=facts,
                inactive_reason=chats[chat].inactive_reason,
                other_version=version,
            )
            for chat, version in chosen
            if chat in chats
        ]


class _Sets:
    """The story's sets of chat ids, ordered by id, as each database runs them best."""

    def __init__(self, session: AsyncSession, story: StoryFacts, versions: tuple[int, ...]) -> None:
        self._session = session
        self._story = story
        self._versions = versions
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    def rowless(self, *, holding: int | None = None, plain: bool = False) -> Any:
        """The audience without a row for the story; `holding`: only the chats with a row
        for that version; `plain`: without the holders of any version, the inactive chats
        and the chats with filters."""
        if self._sqlite:
            return _compound(self._story, self._versions, holding, plain)
        return _semi_joins(self._story, self._versions, holding, plain)

    async def tally(self, versions: Sequence[int]) -> tuple[int, dict[int, _Counted]]:
        """How many chats lack a row, and of them the holders of each version that has any
        (all their ids when at most FEW). SQLite merges one set per count; PostgreSQL counts
        them in one pass, the set joined to each version's rows (hash joins)."""
        if self._sqlite:
            total = await self._count(self.rowless())
            holders = {
                version: await self._counted(self.rowless(holding=version)) for version in versions
            }
        else:
            base = self.rowless().order_by(None).subquery()
            rows = [aliased(Delivery) for _ in versions]
            # Each chat under the first version it holds (see `_before`).
            held = [
                func.count(
                    case(
                        (
                            and_(
                                row.destination_id.is_not(None),
                                *(earlier.destination_id.is_(None) for earlier in rows[:number]),
                            ),
                            1,
                        )
                    )
                )
                for number, row in enumerate(rows)
            ]
            query = select(func.count(), *held)
            source: Any = base
            for row, version in zip(rows, versions, strict=True):
                source = source.outerjoin(
                    row, and_(row.destination_id == base.c.destination_id, row.story_id == version)
                )
            found = (await self._session.execute(query.select_from(source))).one()
            total = int(found[0])
            holders = {
                version: _Counted(int(count), None)
                for version, count in zip(versions, found[1:], strict=True)
            }
        return total, {version: counted for version, counted in holders.items() if counted.count}

    async def _counted(self, ids: Any) -> _Counted:
        """All of the set's ids if at most FEW, else how many."""
        first = await self.first(ids, FEW + 1)
        if len(first) <= FEW:
            return _Counted(len(first), first)
        return _Counted(await self._count(ids), None)

    async def _count(self, ids: Any) -> int:
        if self._sqlite:
            sql, params = ids
            count = await self._session.scalar(text(f"SELECT count(*) FROM ({sql})"), params)
        else:
            count = await self._session.scalar(
                select(func.count()).select_from(ids.order_by(None).subquery())
            )
        return int(count or 0)

    async def first(self, ids: Any, limit: int) -> list[int]:
        if self._sqlite:
            sql, params = ids
            rows = await self._session.execute(
                text(f"{sql} LIMIT :limit"), {**params, "limit": limit}
            )
            return [int(row[0]) for row in rows]
        return [int(chat) for chat in await self._session.scalars(ids.limit(limit))]


def _before(versions: tuple[int, ...], version: int) -> tuple[int, ...]:
    """The versions listed before `version`: a chat holding rows for two versions (stories
    grouped after both went out) is counted and listed under the first one only."""
    return versions[: versions.index(version)]


def _compound(
    story: StoryFacts, versions: tuple[int, ...], holding: int | None, plain: bool
) -> tuple[str, dict[str, Any]]:
    """SQLite: one flat compound SELECT (its operators apply left to right), each arm read
    in id order from an index, so SQLite merges them instead of probing per chat."""
    params: dict[str, Any] = {"section": story.section, "story": story.id}
    arms = ["SELECT destination_id FROM subscriptions WHERE section = :section"]
    if story.edition is not None:
        params["edition"] = story.edition
        arms.append(
            "INTERSECT SELECT destination_id FROM destination_editions WHERE edition = :edition"
        )
    if holding is not None:
        params["holding"] = holding
        arms.append("INTERSECT SELECT destination_id FROM deliveries WHERE story_id = :holding")
        for number, version in enumerate(_before(versions, holding)):
            params[f"before_{number}"] = version
            arms.append(
                f"EXCEPT SELECT destination_id FROM deliveries WHERE story_id = :before_{number}"
            )
    arms.append("EXCEPT SELECT destination_id FROM deliveries WHERE story_id = :story")
    if plain:
        for number, version in enumerate(versions):
            params[f"version_{number}"] = version
            arms.append(
                f"EXCEPT SELECT destination_id FROM deliveries WHERE story_id = :version_{number}"
            )
        arms.append("EXCEPT SELECT id FROM destinations WHERE active = 0")
        arms.append("EXCEPT SELECT destination_id FROM channel_rules WHERE filtered = 1")
    return " ".join(arms) + " ORDER BY 1", params


def _semi_joins(
    story: StoryFacts, versions: tuple[int, ...], holding: int | None, plain: bool
) -> Select[Any]:
    """PostgreSQL: the same set as EXISTS / NOT EXISTS over the section's subscribers."""
    chat = Subscription.destination_id

    def row_for(story_id: int) -> Any:
        return exists().where(Delivery.destination_id == chat, Delivery.story_id == story_id)

    query = select(chat).where(Subscription.section == story.section, ~row_for(story.id))
    if story.edition is not None:
        query = query.where(
            exists().where(
                DestinationEdition.destination_id == chat,
                DestinationEdition.edition == story.edition,
            )
        )
    if holding is not None:
        query = query.where(
            row_for(holding), *(~row_for(version) for version in _before(versions, holding))
        )
    if plain:
        query = query.where(
            *(~row_for(version) for version in versions),
            exists().where(Destination.id == chat, Destination.active.is_(True)),
            ~exists().where(ChannelRule.destination_id == chat, ChannelRule.filtered.is_(True)),
        )
    return query.order_by(chat)
