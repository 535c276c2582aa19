#!/usr/bin/env bash
# The README's test command: a fresh virtualenv with newsbot and its test tools, then pytest.
# PostgreSQL tests use $NEWSBOT_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test)
# and are skipped, with the reason shown, when no server answers there.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${NEWSBOT_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
"$VENV/bin/ruff" check .
"$VENV/bin/lint-imports" --no-cache
# One worker per core (pytest-xdist); "-n 0" after the command runs everything in one process.
exec "$VENV/bin/python" -m pytest -n auto "$@"
