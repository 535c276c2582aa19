"""newsbot's storage: SQLAlchemy models, engine and sessions, queries, Alembic migrations."""
