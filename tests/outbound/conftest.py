"""The fake Bot API fixture, shared with tests/entrypoints/telegram (test_retry_hold.py sends
through PTB's ExtBot against it)."""

from tests.entrypoints.telegram.conftest import fake_api

__all__ = ["fake_api"]
