"""Logging set-up: readable lines, and secrets (the bot token) redacted from every record."""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "[REDACTED]"


class RedactSecrets(logging.Filter):
    """Replaces each secret in the final message text; attached to the handlers."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, REDACTED)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_text is None:
            # Format the traceback now so the redaction reaches it too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self._secrets:
                record.exc_text = record.exc_text.replace(secret, REDACTED)
        return True


def configure_logging(level: int = logging.INFO, secrets: Iterable[str] = ()) -> None:
    """Root logging for the CLI. httpx logs every request URL, which carries the bot token
    (`/bot<token>/method`), so it is held at WARNING and filtered as well."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # "skipped: maximum number of running instances reached" is the delivery tick working
    # as designed (one at a time while a long fan-out drains), not a problem to report.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
