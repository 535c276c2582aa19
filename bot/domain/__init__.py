"""newsbot's rules as pure values and functions: no I/O, and no import of sqlalchemy, telegram,
httpx, feedparser, apscheduler or any other newsbot package. Tested with plain values
(tests/domain/)."""
