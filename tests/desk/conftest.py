"""The fake Bot API fixture, shared with tests/entrypoints/telegram (the desk's screens run
against it)."""

from tests.entrypoints.telegram.conftest import fake_api

__all__ = ["fake_api"]
