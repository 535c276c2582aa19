"""Shared fixtures: databases (SQLite always, PostgreSQL when reachable) and fake servers."""

from __future__ import annotations

pytest_plugins = [
    "tests.fakes.feed_server",
]
