"""A story as the database can hold it: shortened where that keeps it meaningful, else refused.

Pure. The limits are the model columns' (storage/limits.py), the same on SQLite (which would
store anything) and PostgreSQL (which fails the whole statement): a feed item or CMS story
that cannot be stored as it is never takes its siblings down with it. CONTRACT:

    fitted = fit_story(draft)    # fitted.draft None: refused, fitted.note says why
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.feeds.normalize import StoryDraft
from bot.feeds.text import shorten
from storage.limits import fits, max_length
from storage.models import Story, StoryAlternate


@dataclass(frozen=True, slots=True)
class Fitted:
    """The story to store (None: refused), and what was changed or why it was refused
    (None: stored as it came). `refused_field` names the field that could not be kept."""

    draft: StoryDraft | None
    note: str | None = None
    refused_field: str | None = None


def _too_long(what: str, value: str, attribute: object) -> str:
    return f"{what} is {len(value):,} characters (at most {max_length(attribute):,})"


def _refusal(draft: StoryDraft) -> tuple[str, str] | None:
    """(field, reason) when the story cannot be stored at all: its link (a link cut short
    leads nowhere, and links identify stories), its identity, section or edition (set by
    the config or the CMS's validated fields, so only a bug gets here)."""
    if draft.link is not None and not fits(Story.link, draft.link):
        return "url", _too_long("link", draft.link, Story.link)
    for name, attribute in (
        ("identity", Story.identity),
        ("section", Story.section),
        ("edition", Story.edition),
    ):
        value = getattr(draft, name)
        if not fits(attribute, value):
            return name, _too_long(name, value, attribute)
    return None


def _alternates_kept(draft: StoryDraft) -> tuple[tuple[str, str], ...]:
    return tuple(
        (edition, link)
        for edition, link in draft.alternates
        if fits(StoryAlternate.link, link) and fits(StoryAlternate.edition, edition)
    )


def fit_story(draft: StoryDraft) -> Fitted:
    """`draft` as it can be stored, on either database."""
    refusal = _refusal(draft)
    if refusal is not None:
        return Fitted(None, f"refused: {refusal[1]}", refused_field=refusal[0])
    changes: list[str] = []
    updates: dict[str, object] = {}
    if not fits(Story.image_url, draft.image_url):
        assert draft.image_url is not None
        changes.append(f"image dropped: {_too_long('its URL', draft.image_url, Story.image_url)}")
        updates["image_url"] = None
    if not fits(Story.author, draft.author):
        assert draft.author is not None
        changes.append("author shortened")
        updates["author"] = shorten(draft.author, max_length(Story.author) or len(draft.author))
    if not fits(Story.language, draft.language):
        changes.append("language dropped: not a language code")
        updates["language"] = None
    alternates = _alternates_kept(draft)
    if alternates != draft.alternates:
        dropped = len(draft.alternates) - len(alternates)
        changes.append(f"{dropped} version link(s) over {max_length(StoryAlternate.link):,} "
                       "characters dropped")  # fmt: skip
        updates["alternates"] = alternates
    if not changes:
        return Fitted(draft)
    return Fitted(replace(draft, **updates), "; ".join(changes))  # type: ignore[arg-type]
