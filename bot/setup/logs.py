"""Logging set-up: readable lines or JSON, and secrets (the bot token, the webhook secret,
the CMS API tokens) redacted from everything the process prints.

Every way out is covered: each log record is scrubbed when it is made (so a library's own
handler prints it redacted too) and again by our handlers (for `extra=` fields and secrets
learnt later); warnings, uncaught exceptions (main thread, other threads, "exception
ignored" ones) and asyncio's exception handler are all routed through logging.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

REDACTED = "[REDACTED]"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"}
)


class RedactSecrets(logging.Filter):
    """Replaces each secret in the message (args included), the traceback, the stack and
    every `extra=` field.

    Attached to the handlers (not loggers), so records from every library pass through it,
    and run by the record factory (see `configure_logging`) for handlers that are not ours.
    Secrets learnt after start-up (a generated webhook secret) are added with `add`.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def add(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            self._scrub_message(record)
            self._scrub_traces(record)
            self._scrub_extras(record)
        return True

    def _scrub_message(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # args that do not fit the format: logging would print them raw
            record.msg, record.args = self.redact(f"{record.msg} {record.args!r}"), None
            return
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None

    def _scrub_traces(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_text is None:
            # Format the traceback now so the redaction reaches it too (formatters use
            # this cached text instead of formatting the exception again).
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)

    def _scrub_extras(self, record: logging.LogRecord) -> None:
        for key, value in list(vars(record).items()):
            if key in _STANDARD:
                continue
            text = value if isinstance(value, str) else str(value)
            redacted = self.redact(text)
            if redacted != text:  # a dict or an exception holding a secret becomes its text
                setattr(record, key, redacted)


class _RedactingFactory:
    """The LogRecord factory: scrubs each record as it is made, so even a library logger
    with a handler of its own (not propagating to ours) never prints a secret."""

    def __init__(self, redactor: RedactSecrets, previous: Callable[..., logging.LogRecord]) -> None:
        self.redactor = redactor
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        self.redactor.filter(record)
        return record


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then any `extra=` fields.

    Log shippers (Loki, Elasticsearch, CloudWatch) index the fields without a parser.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_text is None:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(
    level: int = logging.INFO,
    secrets: Iterable[str] = (),
    log_format: Literal["text", "json"] = "text",
) -> None:
    """Root logging for the CLI. httpx logs every request URL, which carries the bot token
    (`/bot<token>/method`), so it is held at WARNING and filtered as well."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    redactor = RedactSecrets(secrets)
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    previous = logging.getLogRecordFactory()
    if isinstance(previous, _RedactingFactory):  # configured before: replace, not chain
        previous = previous.previous
    logging.setLogRecordFactory(_RedactingFactory(redactor, previous))
    route_errors_to_logging()
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances reached" is the delivery tick working
    # as designed (one at a time while a long fan-out drains), not a problem to report.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)


def route_errors_to_logging() -> None:
    """Warnings, uncaught exceptions and "exception ignored" reports print through logging
    (redacted, and as JSON lines with `log_format = "json"`) instead of raw to stderr.

    asyncio's default exception handler already logs to the `asyncio` logger.
    """
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    sys.unraisablehook = _log_unraisable


_errors = logging.getLogger("newsbot")


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    _errors.critical("stopped by an unexpected %s", kind.__name__, exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
    _errors.error("thread %s stopped by an unexpected error", name, exc_info=exc_info)


def _log_unraisable(unraisable: Any) -> None:
    """`sys.unraisablehook`: an error Python could not raise (a failing __del__, say)."""
    error = unraisable.exc_value
    exc_info = (unraisable.exc_type, error, unraisable.exc_traceback) if error else None
    message = unraisable.err_msg or "Exception ignored in"
    _errors.error("%s: %r", message, unraisable.object, exc_info=exc_info)


def redact_also(secret: str) -> None:
    """Add a secret known only at run time (a generated webhook secret) to every handler's
    redaction filter, including handlers a test harness installed."""
    for handler in logging.getLogger().handlers:
        for candidate in handler.filters:
            if isinstance(candidate, RedactSecrets):
                candidate.add(secret)
