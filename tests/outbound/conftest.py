"""The fake Bot API fixture, shared with tests/entrypoints/telegram (retry and the flood guard
are tested against it)."""

from tests.entrypoints.telegram.conftest import fake_api

__all__ = ["fake_api"]
