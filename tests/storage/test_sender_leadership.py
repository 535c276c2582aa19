"""One sender per bot token across instances: a PostgreSQL advisory lock elects it."""

from __future__ import annotations

from storage.db import Database, create_database
from storage.leadership import Leadership


async def test_only_one_instance_sends_and_another_takes_over(database: Database) -> None:
    other_process = create_database(str(database.engine.url.render_as_string(False)))
    first, second = Leadership(database), Leadership(other_process)
    try:
        assert await first.acquire()
        if database.is_sqlite:
            assert await second.acquire()  # one process by definition: it always sends
            return
        assert not await second.acquire()
        assert await first.acquire()  # still the sender on later ticks
        await first.release()  # as when its process dies and the connection closes
        assert await second.acquire()
    finally:
        await first.release()
        await second.release()
        await other_process.dispose()
