"""The fake Bot API fixture, shared with tests/telegram (the desk's screens run against it)."""

from tests.telegram.conftest import fake_api

__all__ = ["fake_api"]
