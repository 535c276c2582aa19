"""Bytes to story drafts: the CPU-bound half of a poll, kept pure so it can run off the loop.

feedparser is pure Python and takes tens of milliseconds on a large feed; running it on the
event loop would stall command replies and every other poll. `Extractor` runs it in a thread
(default) or in worker processes (`parse_workers` > 0), which uses both cores of the machine.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from bot.feeds.normalize import FeedContext, StoryDraft, normalize_entry
from bot.feeds.parser import ParseError, parse_feed

_DATE_EXAMPLES = 2  # implausible dates quoted in the feed's warning


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one feed body yielded: its own metadata and the stories in it."""

    title: str | None = None
    language: str | None = None
    ttl_seconds: int | None = None
    drafts: list[StoryDraft] = field(default_factory=list)
    error: ParseError | None = None
    detail: str | None = None
    warning: str | None = None


def extract_stories(
    content: bytes, url: str, headers: Mapping[str, str], context: FeedContext
) -> Extraction:
    """Parse a feed body and normalise its entries. Pure; never raises for bad input."""
    parsed = parse_feed(content, url=url, headers=headers)
    if parsed.error is not None:
        return Extraction(title=parsed.title, error=parsed.error, detail=parsed.detail)
    if parsed.language:
        context = replace(context, feed_language=parsed.language)
    drafts = [
        draft for entry in parsed.entries if (draft := normalize_entry(entry, context)) is not None
    ]
    notes = (parsed.warning, _date_warning(drafts), _edition_warning(drafts, context))
    warnings = [note for note in notes if note]
    return Extraction(
        title=parsed.title,
        language=parsed.language,
        ttl_seconds=parsed.ttl_seconds,
        drafts=drafts,
        warning="; ".join(warnings) or None,
    )


def _edition_warning(drafts: list[StoryDraft], context: FeedContext) -> str | None:
    """One line for the feed's health when its stories are in a language the newsroom does
    not publish: they are shown in the default edition, which the operator should know (a
    newsroom of one edition too: its readers get a German feed's stories as English ones).
    Without editions (a preview outside any newsroom) a story's language is its edition."""
    if not context.editions:
        return None
    foreign = [draft.language for draft in drafts if draft.language not in context.editions]
    if not foreign:
        return None
    languages = ", ".join(sorted({language or "?" for language in foreign}))
    return (
        f"{len(foreign)} item(s) in {languages}, which is not an edition: shown in the "
        f"{context.default_edition} edition"
    )


def _date_warning(drafts: list[StoryDraft]) -> str | None:
    """One line for the feed's health: how many items' dates were ignored, with examples."""
    notes = [draft.date_note for draft in drafts if draft.date_note]
    if not notes:
        return None
    examples = list(dict.fromkeys(notes))[:_DATE_EXAMPLES]
    more = ", …" if len(set(notes)) > _DATE_EXAMPLES else ""
    return (
        f"first-seen time used for {len(notes)} item(s) with an implausible date "
        f"({', '.join(examples)}{more})"
    )


class Extractor:
    """Runs `extract_stories` in a thread or a process pool, so the event loop stays free."""

    def __init__(self, workers: int = 0) -> None:
        self._executor: Executor
        if workers > 0:
            # "spawn": forking a process that already runs threads (aiosqlite, the loop's
            # executor) can copy held locks into the child.
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        else:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="extract")

    async def extract(
        self, content: bytes, url: str, headers: Mapping[str, str], context: FeedContext
    ) -> Extraction:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, extract_stories, content, url, dict(headers), context
        )

    def close(self) -> None:
        """Stop the workers; waiting reaps worker processes so none outlive newsbot."""
        self._executor.shutdown(wait=True, cancel_futures=True)
