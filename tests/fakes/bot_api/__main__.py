"""``python -m tests.fakes.bot_api --port 8081 --rate 30 --paid-rate 1000``."""

import sys

from tests.fakes.bot_api.cli import main

if __name__ == "__main__":
    sys.exit(main())
