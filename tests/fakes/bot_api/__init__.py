"""A fake Telegram Bot API server on real loopback HTTP, strict where Telegram is strict.

Why a server and not a mock: the bot under test runs the real python-telegram-bot stack
(``Application``/``ExtBot``/``HTTPXRequest``), so its request encoding, error mapping
(``BadRequest``, ``Forbidden``, ``RetryAfter``, ``ChatMigrated``...), retries and polling
loop are exercised exactly as in production.  Point PTB at ``f"{fake.base_url}/bot"``.

Why its own thread and event loop: tests use pytest-asyncio loops of any scope (and
benchmarks use none); a server living on its own loop in a daemon thread works with all
of them and keeps answering while a test's loop is blocked in synchronous code.

Why strict: the fake is how we prove the bot is correct.  It rejects what Telegram rejects
(bad HTML, over-long text counted in UTF-16, bad buttons, unknown chats, flood limits,
blocked users, migrated groups, stale callback queries) with Telegram's error texts, so a
bug that would only show in production shows here.

Also runnable standalone for benchmarks::

    python -m tests.fakes.bot_api --port 8081 --rate 30 --paid-rate 1000

which prints its URL and serves a small control API under ``/_control/`` (stats, sent
messages, playing users, chaos) so another process can drive and inspect it.

The package, by concern (each module says why it is shaped the way it is):

- ``values``: the public value types (:class:`FakeUser`, :class:`FakeChat`,
  :class:`SentMessage`, :class:`Upload`) and :class:`ApiError`;
- ``vocabulary``: Telegram's names (update types, send/edit methods, typed fields, texts);
- ``server``: :class:`FakeBotAPI` itself (its state, the HTTP server on its own thread,
  request dispatch), composed of the mixins below; ``wire``: decoding requests, encoding
  answers; ``control``: the ``/_control/`` API for other processes;
- ``world``: chats, members, topics and the update queue; ``players``: what people do
  (write, reply, press buttons, add the bot); ``inspection``: what tests read and wait for;
- ``limits``: Telegram's flood limits (per chat, global, paid broadcasts) and injected
  failures;
- ``methods``: the Bot API methods, by group (updates and webhooks, the bot, chats, forum
  topics, a send's parameters, sending, editing, answers to callbacks and inline queries);
- ``cli``: ``python -m tests.fakes.bot_api`` (also ``__main__``).
"""

from __future__ import annotations

from tests.fakes.bot_api.cli import main as main
from tests.fakes.bot_api.server import FakeBotAPI
from tests.fakes.bot_api.values import ApiError, FakeChat, FakeUser, SentMessage, Upload
from tests.fakes.bot_api.values import ChatType as ChatType
from tests.fakes.bot_api.vocabulary import ALL_UPDATE_TYPES as ALL_UPDATE_TYPES
from tests.fakes.bot_api.vocabulary import ANSWER_AT_ONCE_HOLD as ANSWER_AT_ONCE_HOLD
from tests.fakes.bot_api.vocabulary import DEFAULT_UPDATE_TYPES as DEFAULT_UPDATE_TYPES
from tests.fakes.bot_api.vocabulary import EDIT_METHODS as EDIT_METHODS
from tests.fakes.bot_api.vocabulary import SEND_METHODS as SEND_METHODS

__all__ = [
    "ApiError",
    "FakeBotAPI",
    "FakeChat",
    "FakeUser",
    "SentMessage",
    "Upload",
]
