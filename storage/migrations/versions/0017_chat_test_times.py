"""chat test times: the console's once-a-minute test send, shared by every instance

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:00:00

A chat's admin may send it a test from the console once a minute (bot/services/chat_test.py).
The time of its last test was kept in each process, so two instances on one database could
each send one in the same minute; `destinations.last_test_at` keeps it in the database, where
one conditional UPDATE reserves the slot (storage/chat_tests.py). One nullable column: no test
was sent before it, as far as it knows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("destinations", sa.Column("last_test_at", storage.types.UTCDateTime()))


def downgrade() -> None:
    # A plain DROP COLUMN as 0011's (SQLite 3.35+), not a batch copy of a table that so
    # many others reference.
    op.drop_column("destinations", "last_test_at")
