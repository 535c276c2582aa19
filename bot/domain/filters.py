"""A chat's desk filters: which stories it takes, decided from the story's own words.

Pure (no database, no Telegram): the config validates with it at load, and the sender hands
a `DeskFilters` to the fan-out (storage/fan_out.py), which asks it only about the chats
that have rules; every other chat stays in the set-based SQL insert.

Words and phrases are matched whole and case-insensitively on the headline and the summary,
with the stems search uses (storage/search.py): a word of five letters or more matches every
word that starts with its first five ("Алматы" finds "Алматыда", "сайлау" finds "сайлауы"),
a shorter word or a number only itself. A phrase matches its words in a row.

Regular expressions run on google-re2 (linear time: no pattern can hang the sender), with
limits on how many and how long, re2's memory limit per pattern, and a budget per chat: the
size of all its patterns' compiled programs together (`PATTERN_BUDGET`), checked at save and
at start-up. Compiling is the costly part (tens of chats' patterns take seconds): callers
compile off the event loop (`DeskFilters.prepare` in a thread, the checks in a thread or
before the loop starts). Note that re2's `\\b` knows ASCII letters only: for Russian
and Kazakh words use the word lists (whole words by design) rather than `\\bслово\\b`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import re2

from bot.domain.channel_rules import DeskRules, StoryText
from bot.domain.words import STEM_LENGTH, words

MAX_TERMS = 100  # words or phrases per list
MAX_TERM_LENGTH = 100  # characters
MAX_PATTERNS = 10  # regular expressions per list
MAX_PATTERN_LENGTH = 200  # characters
# re2's memory budget per pattern (its default is 8 MiB): a thousand filtered chats stay small.
PATTERN_MEMORY = 1 << 20
# re2 program instructions of all a chat's patterns together (both lists): a word list is a
# few dozen; `(?s).{199}` alone is 1,397.
PATTERN_BUDGET = 5_000


class FilterError(ValueError):
    """A filter refused, phrased as one line for whoever entered it."""


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a term: a stem matches every word it starts, a short word only itself."""

    value: str
    stem: bool


Term = tuple[Token, ...]


def parse_term(raw: str) -> Term:
    """A word or phrase as tokens; FilterError when it has no letters or digits."""
    if len(raw) > MAX_TERM_LENGTH:
        raise FilterError(f"{raw[:20]!r}… is longer than {MAX_TERM_LENGTH} characters")
    tokens = tuple(
        Token(word[:STEM_LENGTH], True)
        if len(word) >= STEM_LENGTH and not word.isdigit()
        else Token(word, False)
        for word in words(raw)
    )
    if not tokens:
        raise FilterError(f"{raw!r} has no letters or digits")
    return tokens


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = PATTERN_MEMORY
    options.log_errors = False  # the error goes back to whoever wrote the pattern instead
    return options


def compile_pattern(pattern: str) -> re2._Regexp:
    """The pattern compiled by re2; FilterError with re2's own message when it refuses."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterError(f"a pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise FilterError(f"re2 refuses {pattern!r}: {reason}") from None


def check_terms(terms: Sequence[str]) -> list[str]:
    """The list as given if every word or phrase is usable and there are not too many."""
    if len(terms) > MAX_TERMS:
        raise FilterError(f"at most {MAX_TERMS} words or phrases")
    for term in terms:
        parse_term(term)
    return list(terms)


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """The list as given if re2 accepts every pattern and there are not too many."""
    if len(patterns) > MAX_PATTERNS:
        raise FilterError(f"at most {MAX_PATTERNS} regular expressions")
    for pattern in patterns:
        compile_pattern(pattern)
    return list(patterns)


def check_pattern_budget(patterns: Sequence[str]) -> None:
    """FilterError when one chat's patterns (both lists) are, compiled, over the budget."""
    size = sum(compile_pattern(pattern).programsize for pattern in patterns)
    if size > PATTERN_BUDGET:
        raise FilterError(
            f"the regular expressions are too large together: {size:,} re2 instructions, "
            f"at most {PATTERN_BUDGET:,} for a chat (simpler patterns, or word lists)"
        )


@dataclass(frozen=True, slots=True)
class StoryWords:
    """A story's text as the matcher reads it, worked out once per story for every chat."""

    fields: tuple[tuple[str, ...], ...]  # each field's words, in order
    exact: frozenset[str]
    stems: frozenset[str]
    texts: tuple[str, ...]  # the fields as written, for regular expressions

    @classmethod
    def of(cls, story: StoryText) -> StoryWords:
        texts = tuple(text for text in (story.title, story.summary, *story.categories) if text)
        fields = tuple(tuple(words(text)) for text in texts)
        every = [word for field in fields for word in field]
        return cls(
            fields=fields,
            exact=frozenset(every),
            stems=frozenset(word[:STEM_LENGTH] for word in every if len(word) >= STEM_LENGTH),
            texts=texts,
        )

    def _has(self, token: Token) -> bool:
        return token.value in (self.stems if token.stem else self.exact)

    def has(self, term: Term) -> bool:
        if not all(self._has(token) for token in term):  # cheap: most terms stop here
            return False
        if len(term) == 1:
            return True
        return any(_in_row(field, term) for field in self.fields)


def _matches(word: str, token: Token) -> bool:
    return word.startswith(token.value) if token.stem else word == token.value


def _in_row(field: tuple[str, ...], term: Term) -> bool:
    last = len(field) - len(term)
    return any(
        all(_matches(field[start + i], token) for i, token in enumerate(term))
        for start in range(last + 1)
    )


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """One chat's rules, parsed and compiled once (per rules version)."""

    include: tuple[Term, ...]
    exclude: tuple[Term, ...]
    include_regex: tuple[re2._Regexp, ...]
    exclude_regex: tuple[re2._Regexp, ...]

    @classmethod
    def of(cls, rules: DeskRules) -> CompiledFilter:
        return cls(
            include=tuple(parse_term(term) for term in rules.include),
            exclude=tuple(parse_term(term) for term in rules.exclude),
            include_regex=tuple(compile_pattern(p) for p in rules.include_regex),
            exclude_regex=tuple(compile_pattern(p) for p in rules.exclude_regex),
        )

    def admits(self, story: StoryWords) -> bool:
        """Posted when it matches an include (if there are any) and no exclude."""
        if any(story.has(term) for term in self.exclude) or any(
            pattern.search(text) for pattern in self.exclude_regex for text in story.texts
        ):
            return False
        if not self.include and not self.include_regex:
            return True
        return any(story.has(term) for term in self.include) or any(
            pattern.search(text) for pattern in self.include_regex for text in story.texts
        )


class DeskFilters:
    """What the fan-out asks about chats with rules (bot.domain.channel_rules.DeskJudge).

    Each chat's rules are compiled once and kept until their version changes; each story's
    words are worked out once, however many chats ask about it.
    """

    def __init__(self) -> None:
        self._compiled: dict[int, tuple[int, CompiledFilter | None]] = {}
        self._story: tuple[int, StoryWords] | None = None

    def _filter(self, rules: DeskRules) -> CompiledFilter | None:
        cached = self._compiled.get(rules.destination_id)
        if cached is not None and cached[0] == rules.version:
            return cached[1]
        try:
            compiled: CompiledFilter | None = CompiledFilter.of(rules)
        except FilterError:
            # Only rules the config or the admin screens checked are stored; one that no
            # longer compiles (a tighter limit since) lets nothing through rather than all.
            compiled = None
        self._compiled[rules.destination_id] = (rules.version, compiled)
        return compiled

    def stale(self, versions: Mapping[int, int]) -> list[int]:
        """The chats among `versions` ({destination id: rules version}) whose rules are not
        compiled at that version yet."""
        return [
            destination_id
            for destination_id, version in versions.items()
            if (cached := self._compiled.get(destination_id)) is None or cached[0] != version
        ]

    def prepare(self, rules: Iterable[DeskRules]) -> None:
        """Compile whatever rules changed since they were last compiled. Blocks (re2 takes
        its time): the sender calls it in a thread before the fan-out asks `admits`."""
        for each in rules:
            self._filter(each)

    def _words(self, story: StoryText) -> StoryWords:
        if self._story is None or self._story[0] != story.story_id:
            self._story = (story.story_id, StoryWords.of(story))
        return self._story[1]

    def admits(self, rules: DeskRules, story: StoryText) -> bool:
        compiled = self._filter(rules)
        return compiled is not None and compiled.admits(self._words(story))


def admits(rules: DeskRules, story: StoryText) -> bool:
    """One chat, one story, nothing cached (previews, tests)."""
    return CompiledFilter.of(rules).admits(StoryWords.of(story))
