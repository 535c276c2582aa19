"""A chat's own layout for its stories: a Jinja2 template, sandboxed, every field escaped.

Channel admins write these (and the config), so a template is untrusted code: it runs in
Jinja's `SandboxedEnvironment` (no attribute access to Python internals, `range` capped, long
string products refused) with HTML autoescaping, so every field (`title`, `summary`, ...)
reaches Telegram escaped whatever the feed put in it. What a template writes itself must be
Telegram HTML (bot/outbound/markup.py): `check_template` renders it with sample stories,
hostile ones included, and checks the output with that same validator, so a template is
refused when it is saved rather than every message it makes being refused when sent.

The sandbox bounds what a template may touch, not its time nor its memory: so every render
runs in a worker process (bot/outbound/sandbox.py) with a wall-clock limit (`SAVE_SECONDS` for the
check at save and start-up, `SEND_SECONDS` per send) and a memory limit, and its output is
capped (`OUTPUT_LIMIT`). `check_template` and `render_template` are the bot's side (they
block: call them from a thread or before the event loop); `check_here` and `render_here`
are what runs in the worker.

A refusal is one line: the reason and the template's line. Jinja reports its own errors
with a line; for HTML errors the line comes from the compiled template, which maps each
chunk it yields back to the template line that wrote it.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from bot.outbound import sandbox
from bot.outbound.markup import MarkupRefused, visible_text

# Longest template accepted (characters): a layout, not a program.
TEMPLATE_LIMIT = 4000
# `range()` inside a template: loops are for the related links and editions, a few items.
RANGE_LIMIT = 100
# A string or list a template builds with `*` or `**` may hold at most this many items.
PRODUCT_LIMIT = 10_000
# Rendered output longer than this (characters) is refused: ten Telegram messages.
OUTPUT_LIMIT = 40_960
# A message's longest text (Telegram's limit): a template longer than this for a story
# without a summary can never be made to fit, so it is refused when saved.
MESSAGE_LIMIT = 4096
# Wall-clock limits of a render in the worker: the check at save (every sample story) and
# one story's render at send time (a fan-out renders once per story, format and language).
SAVE_SECONDS = 1.0
SEND_SECONDS = 0.5

FIELDS = (
    "title",
    "summary",
    "link",
    "section",
    "hashtags",
    "time",
    "date",
    "author",
    "image",
    "related",
    "edition",
    "other_editions",
)


class TemplateRefused(ValueError):
    """A template Telegram (or the sandbox) would not take; the message is one line with the
    reason and the template's line number."""


@dataclass(frozen=True, slots=True)
class TemplateLink:
    """An item of `related` (a related story) or `other_editions` (a language's name)."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class TemplateFields:
    """What a template sees of a story, as plain text (autoescaping escapes it)."""

    title: str
    summary: str
    link: str
    section: str
    hashtags: str
    time: str
    date: str
    author: str
    image: str
    related: tuple[TemplateLink, ...]
    edition: str
    other_editions: tuple[TemplateLink, ...]

    def as_context(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in FIELDS}


def _capped_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > RANGE_LIMIT:
        raise TemplateRefused(f"range() longer than {RANGE_LIMIT}")
    return numbers


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, with the products that could build a huge string refused."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if abs(left) > PRODUCT_LIMIT or abs(right) > 64:
                raise TemplateRefused("** on numbers this large")
            return operator.pow(left, right)
        sizes = [len(side) for side in (left, right) if hasattr(side, "__len__")]
        counts = [side for side in (left, right) if isinstance(side, int)]
        if sizes and counts and max(sizes) * max(counts) > PRODUCT_LIMIT:
            raise TemplateRefused(f"a repeated string longer than {PRODUCT_LIMIT}")
        return operator.mul(left, right)


def _environment() -> SandboxedEnvironment:
    env = _Sandbox(
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt field is refused on save, not rendered empty
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.globals = {"range": _capped_range}
    return env


_ENV = _environment()


@functools.lru_cache(maxsize=512)
def compiled(source: str) -> Template:
    """The template compiled once per process (100 chats' templates are 100 compilations)."""
    if len(source) > TEMPLATE_LIMIT:
        raise TemplateRefused(f"the template is longer than {TEMPLATE_LIMIT} characters (line 1)")
    try:
        return _ENV.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(f"{_one_line(exc.message or str(exc))} (line {exc.lineno})") from None


def _in_worker(function: Callable[..., str | None], *args: object, seconds: float) -> Any:
    """`function(*args)` in the sandbox's worker; its limits as a TemplateRefused."""
    try:
        return sandbox.pool(_WORKER_IMPORTS).run(function, *args, seconds=seconds)
    except sandbox.OverBudget as exc:
        raise TemplateRefused(f"the template {exc}") from None


def render_template(source: str, fields: TemplateFields, seconds: float = SEND_SECONDS) -> str:
    """The template's HTML for `fields` (not checked: see markup.visible_text), rendered in
    the sandbox's worker within `seconds`. Blocks: call it from a thread.

    TemplateRefused for anything the template does wrong at render time (a sandbox
    violation, an unknown field, a runtime error, too long, too much memory)."""
    try:
        return _in_worker(render_here, source, fields, seconds=seconds)  # type: ignore[no-any-return]
    except TemplateRefused as exc:
        noted: list[str] | None = getattr(_failures, "noted", None)
        if noted is not None:
            noted.append(str(exc))
        raise


# The failures `render_template` met in this thread, while someone notes them.
_failures = threading.local()


@contextlib.contextmanager
def noting_failures() -> Iterator[list[str]]:
    """The reasons of the renders that fail in this thread meanwhile: the renderer falls
    back to the standard layout and logs, the caller may tell the chat's admins."""
    noted: list[str] = []
    _failures.noted = noted
    try:
        yield noted
    finally:
        _failures.noted = None


def render_here(source: str, fields: TemplateFields) -> str:
    """`render_template` in this process: what the worker runs."""
    template = compiled(source)
    return "".join(_chunks(template, fields.as_context(), lambda chunk, line: None))


def _chunks(
    template: Template, context: Mapping[str, object], seen: Callable[[str, int], None]
) -> Iterator[str]:
    """The template's output chunk by chunk, each reported with the template line it is from."""
    generator = template.root_render_func(template.new_context(dict(context)))
    size = 0
    try:
        for chunk in generator:
            frame = generator.gi_frame
            line = template.get_corresponding_lineno(frame.f_lineno) if frame else 1
            size += len(chunk)
            if size > OUTPUT_LIMIT:
                raise TemplateRefused(f"the output is longer than {OUTPUT_LIMIT} characters")
            seen(chunk, line)
            yield chunk
    except TemplateRefused as exc:
        if "(line " in str(exc):
            raise
        raise TemplateRefused(f"{exc} (line {_template_line(exc)})") from None
    except RecursionError as exc:  # a macro calling itself: the error, not a stack overflow
        line = _template_line(exc)
        raise TemplateRefused(f"a macro calls itself too deeply (line {line})") from None
    except MemoryError:
        raise  # the sandbox's limit: its worker reports it and is replaced
    except Exception as exc:  # any other error a template can raise ({{ 1|wordwrap(3) }})
        reason = _one_line(getattr(exc, "message", None) or str(exc)) or type(exc).__name__
        raise TemplateRefused(f"{reason} (line {_template_line(exc)})") from None


def _template_line(exc: BaseException) -> int:
    """The template line an exception was raised on: the innermost frame of template code."""
    line = 1
    traceback = exc.__traceback__
    while traceback is not None:
        code = traceback.tb_frame.f_code
        template = traceback.tb_frame.f_globals.get("__jinja_template__")
        if code.co_filename == "<template>" and template is not None:
            line = template.get_corresponding_lineno(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line


def _one_line(text: str) -> str:
    return " ".join(text.split())


# The stories a template is tried on when it is saved: an ordinary one in each of the
# newsroom's scripts, one whose every field is hostile markup, one with nothing optional.
# No field holds a newline, so every newline in the output is the template's own (which is
# how an HTML error is traced to its template line).
_HOSTILE = '</b><script>alert("x")</script> & <a href="javascript:x">'
SAMPLES = (
    TemplateFields(
        title="Сенат одобрил закон о медиа",
        summary="Депутаты приняли документ во втором чтении. Он вступит в силу в январе.",
        link="https://example.org/ru/news/1?from=rss&id=1",
        section="Парламент",
        hashtags="#parliament",
        time="17:38",
        date="18 ноября",
        author="Айгерим Нурланова",
        image="https://example.org/images/1.jpg",
        related=(
            TemplateLink("Мажилис принял поправки", "https://example.org/ru/news/2"),
            TemplateLink("Сенат начал сессию", "https://example.org/ru/news/3"),
        ),
        edition="ru",
        other_editions=(TemplateLink("Қазақша", "https://example.org/kz/news/1"),),
    ),
    TemplateFields(
        title=_HOSTILE,
        summary=f"{_HOSTILE} &amp; &#0; <i> {{{{ 7*7 }}}}",
        link="https://example.org/news/2?a=1&b=%3C%22",
        section=_HOSTILE,
        hashtags="#a_b",
        time="<b>",
        date="&",
        author=_HOSTILE,
        image="https://example.org/i.jpg?a=1&b=2",
        related=(TemplateLink(_HOSTILE, "https://example.org/news/3?a=1&b=2"),),
        edition="kk",
        other_editions=(TemplateLink(_HOSTILE, "https://example.org/en/news/2"),),
    ),
    TemplateFields(
        title="Title",
        summary="",
        link="https://example.org/news/4",
        section="",
        hashtags="",
        time="09:00",
        date="1 January",
        author="",
        image="",
        related=(),
        edition="en",
        other_editions=(),
    ),
)
# The kinds of story that make templates fail (`title|first`, `summary[100:]`, a loop over
# the words), added to whatever real stories a check is given.
HARD_SAMPLES = (
    TemplateFields(
        title="Заголовок " * 40,
        summary="Слово " * 600,
        link="https://example.org/news/5",
        section="Section",
        hashtags="#section",
        time="23:59",
        date="31 December",
        author="A",
        image="",
        related=tuple(
            TemplateLink(f"Related {number}", f"https://example.org/news/{number}")
            for number in range(6, 11)
        ),
        edition="kk",
        other_editions=(),
    ),
)
# What the worker imports before it takes work (so a job's time is its own).
_WORKER_IMPORTS = (__name__,)


@functools.lru_cache(maxsize=64)
def _checked_on_samples(source: str) -> str | None:
    """The refusal of `source` on the built-in samples only (None: accepted): the config
    checks a key again each time it is validated, the worker is asked once."""
    try:
        _in_worker(check_here, source, (), seconds=SAVE_SECONDS)
    except TemplateRefused as exc:
        return str(exc)
    return None


def _check_on_samples(source: str) -> None:
    refusal = _checked_on_samples(source)
    if refusal is not None and "took longer than" in refusal:
        _checked_on_samples.cache_clear()  # a busy machine may have been the cause: ask again
    if refusal is not None:
        raise TemplateRefused(refusal)


def check_template(
    source: str, stories: Sequence[TemplateFields] = (), seconds: float = SAVE_SECONDS
) -> None:
    """Raise TemplateRefused (reason and line) unless `source` is a template whose output
    Telegram takes for every sample story and each of `stories` (real recent ones), all
    rendered in the sandbox's worker within `seconds`: valid Jinja, within the sandbox and
    its limits, known fields only, Telegram HTML (see markup), some text for an ordinary
    story. Blocks: call it from a thread or before the event loop."""
    if len(source) > TEMPLATE_LIMIT:  # refused here: not worth a trip to the worker
        compiled(source)
    if not stories and seconds == SAVE_SECONDS:
        _check_on_samples(source)
        return
    _in_worker(check_here, source, tuple(stories), seconds=seconds)


def check_here(source: str, stories: Sequence[TemplateFields] = ()) -> None:
    """`check_template` in this process: what the worker runs."""
    template = compiled(source)
    for sample in (*SAMPLES, *HARD_SAMPLES, *stories):
        pieces: list[tuple[str, int]] = []
        html = "".join(_chunks(template, sample.as_context(), _recorder(pieces)))
        try:
            text = visible_text(html)
        except MarkupRefused as exc:
            line = _source_line(source, pieces, exc.line)
            raise TemplateRefused(f"{exc.reason} (line {line})") from None
        if sample is SAMPLES[0] and not text.strip():
            raise TemplateRefused("the template renders no text (line 1)")
        if not sample.summary and len(text.encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
            raise TemplateRefused(
                f"the output is over {MESSAGE_LIMIT:,} characters without a summary (line 1)"
            )


def _recorder(pieces: list[tuple[str, int]]) -> Callable[[str, int], None]:
    return lambda chunk, line: pieces.append((chunk, line))


def _source_line(source: str, pieces: list[tuple[str, int]], output_line: int) -> int:
    """The template line that wrote line `output_line` of the output (see SAMPLES)."""
    line_start = 1
    for chunk, template_line in pieces:
        newlines = chunk.count("\n")
        # A chunk ending in a newline has nothing on the line after it.
        if output_line < line_start + newlines or (
            output_line == line_start + newlines and not chunk.endswith("\n")
        ):
            return _literal_start(source, chunk, template_line) + (output_line - line_start)
        line_start += newlines
    return pieces[-1][1] if pieces else 1


def _literal_start(source: str, chunk: str, line: int) -> int:
    """Where a chunk of the template's own text really starts: Jinja dates it from the end of
    the tag before it, which trim_blocks may have taken the newline after."""
    start = sum(len(text) + 1 for text in source.split("\n")[: line - 1])
    found = source.find(chunk, start)
    return source.count("\n", 0, found) + 1 if found >= 0 else line
