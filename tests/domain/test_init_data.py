"""The console's sign-in: Mini App init data is accepted only as Telegram signed it, for this
bot, recently (bot/domain/init_data.py)."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

import pytest

from bot.domain.init_data import (
    MAX_INIT_DATA_BYTES,
    InitDataRefused,
    InitDataUser,
    validate_init_data,
)
from tests.fakes.init_data import EDITOR, sign_fields, sign_init_data

# Published examples signed by real bots, with their tokens (the tokens are the examples'
# own, long revoked): the Telegram Mini Apps project's documentation of init data
# (docs.telegram-mini-apps.com, "Init Data"; also in its init-data-node tests) ...
CLASSIC_TOKEN = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
CLASSIC = (
    "query_id=AAHdF6IQAAAAAN0XohDhrOrc"
    "&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22"
    "%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22"
    "%2C%22is_premium%22%3Atrue%7D"
    "&auth_date=1662771648"
    "&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2"
)
# ... and, from a client of late 2024 that adds the Ed25519 `signature` field, the README of
# its Go package (github.com/telegram-mini-apps/init-data-golang).
MODERN_TOKEN = "7342037359:AAHI25ES9xCOMPokpYoz-p8XVrZUdygo2J4"
MODERN = (
    "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F"
    "%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C"
    "%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22"
    "%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320"
    "%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D"
    "&chat_instance=8134722200314281151&chat_type=private&auth_date=1733509682"
    "&signature=TYJxVcisqbWjtodPepiJ6ghziUL94-KNpG8Pau-X7oNNLNBM72APCpi_RKiUlBvcqo5L-LAxIc3dnTzcZX_PDg"
    "&hash=a433d8f9847bd6addcc563bff7cc82c89e97ea0d90c11fe5729cae6796a36d73"
)
PUBLISHED = [
    pytest.param(CLASSIC_TOKEN, CLASSIC, 1662771648, id="classic"),
    pytest.param(MODERN_TOKEN, MODERN, 1733509682, id="with-signature"),
]

TOKEN = "123456:ABC-newsbot-test-token"
NOW = 1_765_000_000
TTL = 3600


def _refused(raw: str | None, token: str = TOKEN, *, now: float = NOW, ttl: int = TTL) -> str:
    """The reason `raw` is refused, checked never to repeat the init data or its hash."""
    with pytest.raises(InitDataRefused) as caught:
        validate_init_data(raw, token, now=now, ttl=ttl)
    reason = caught.value.reason
    assert str(caught.value) == reason
    for name, value in parse_qsl(raw or "", keep_blank_values=True):
        if len(value) >= 8:
            assert value not in reason, f"the reason repeats {name}"
    assert "\n" not in reason and len(reason) < 80
    return reason


def _encode(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs, quote_via=quote)


def _changed(value: str) -> str:
    """`value` with one character changed: its last (a digit or letter stays one)."""
    last = value[-1]
    swap = {"9": "8", "z": "y", "Z": "Y", "}": "]"}.get(last) or chr(ord(last) + 1)
    return value[:-1] + swap


@pytest.mark.parametrize(("token", "raw", "auth_date"), PUBLISHED)
def test_a_published_example_validates_at_its_auth_date(
    token: str, raw: str, auth_date: int
) -> None:
    user = validate_init_data(raw, token, now=auth_date, ttl=TTL)
    assert user.user_id == 279058397
    assert user.first_name.startswith("Vladislav")
    assert user.language_code == "ru"
    assert user.auth_date == auth_date
    assert user.user["username"] == "vdkfrost"
    # An hour later, still valid; a second more, expired.
    validate_init_data(raw, token, now=auth_date + TTL, ttl=TTL)
    assert "expired" in _refused(raw, token, now=auth_date + TTL + 1)


def test_the_published_names_decode_as_telegram_sent_them() -> None:
    user = validate_init_data(MODERN, MODERN_TOKEN, now=1733509682, ttl=TTL)
    assert user.first_name == "Vladislav + - ? /"
    assert user.user["photo_url"].startswith("https://t.me/i/userpic/320/")


@pytest.mark.parametrize(("token", "raw", "auth_date"), PUBLISHED)
def test_a_one_character_change_of_any_field_is_refused(
    token: str, raw: str, auth_date: int
) -> None:
    pairs = parse_qsl(raw, strict_parsing=True, keep_blank_values=True)
    # Re-encoded unchanged, it still validates: what breaks below is the change alone.
    validate_init_data(_encode(pairs), token, now=auth_date, ttl=TTL)
    for index, (key, value) in enumerate(pairs):
        for changed in ((key, _changed(value)), (_changed(key), value)):
            forged = [*pairs[:index], changed, *pairs[index + 1 :]]
            reason = _refused(_encode(forged), token, now=auth_date)
            if key == "hash" and changed[0] != key:
                assert reason == "init data has no hash", reason
            else:
                assert reason == "init data signature is not valid for this bot", (key, reason)


@pytest.mark.parametrize("position", [0, 31, 63])
def test_a_one_character_change_of_the_hash_is_refused(position: int) -> None:
    head, digest = CLASSIC.rsplit("=", 1)
    flipped = "0" if digest[position] != "0" else "1"
    forged = f"{head}={digest[:position]}{flipped}{digest[position + 1 :]}"
    assert "signature" in _refused(forged, CLASSIC_TOKEN, now=1662771648)
    assert "signature" in _refused(f"{head}={digest.upper()}", CLASSIC_TOKEN, now=1662771648)


def test_the_signature_field_is_covered_by_the_hash() -> None:
    """Telegram's Ed25519 `signature` is one more signed field for the bot-token check."""
    pairs = parse_qsl(MODERN, strict_parsing=True, keep_blank_values=True)
    without = _encode([(key, value) for key, value in pairs if key != "signature"])
    assert "signature is not valid" in _refused(without, MODERN_TOKEN, now=1733509682)


def test_another_bots_token_is_refused() -> None:
    assert "signature" in _refused(CLASSIC, MODERN_TOKEN, now=1662771648)
    assert "signature" in _refused(MODERN, CLASSIC_TOKEN, now=1733509682)
    signed = sign_init_data(TOKEN, auth_date=NOW)
    assert "signature" in _refused(signed, TOKEN.replace("ABC", "ABD"))


def test_no_hash_is_refused() -> None:
    pairs = parse_qsl(CLASSIC, strict_parsing=True, keep_blank_values=True)
    unhashed = [(key, value) for key, value in pairs if key != "hash"]
    assert _refused(_encode(unhashed), CLASSIC_TOKEN) == "init data has no hash"
    assert _refused(_encode([*unhashed, ("hash", "")]), CLASSIC_TOKEN) == "init data has no hash"


def test_expired_init_data_is_refused_and_the_ttl_is_the_callers() -> None:
    signed = sign_init_data(TOKEN, auth_date=NOW - 600)
    assert validate_init_data(signed, TOKEN, now=NOW, ttl=600).auth_date == NOW - 600
    assert _refused(signed, now=NOW, ttl=599) == "init data has expired; reopen the console"
    assert "expired" in _refused(sign_init_data(TOKEN, auth_date=0))


def test_init_data_dated_more_than_a_minute_ahead_is_refused() -> None:
    assert validate_init_data(sign_init_data(TOKEN, auth_date=NOW + 60), TOKEN, now=NOW, ttl=TTL)
    ahead = sign_init_data(TOKEN, auth_date=NOW + 61)
    assert _refused(ahead) == "init data is dated ahead of the clock"


def test_a_forgery_is_refused_as_a_forgery_whatever_its_date() -> None:
    """Unsigned content decides nothing, not even which reason is given."""
    for auth_date in (0, NOW, NOW + 10_000):
        forged = sign_init_data("999:another-bot", auth_date=auth_date)
        assert "signature" in _refused(forged)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "init data is missing"),
        ("", "init data is missing"),
        ("   ", "init data is missing"),
        ("hash", "init data is malformed"),
        ("auth_date=1&&hash=00", "init data is malformed"),
        ("auth_date=1;hash=00", "init data has no hash"),  # ";" separates nothing
        ("user=%FF%FE&hash=00", "init data is malformed"),
        ("user=Айгерим&hash=00", "init data is malformed"),
        ("&".join(f"f{n}=1" for n in range(40)) + "&hash=00", "init data is malformed"),
        ("user=" + "a" * MAX_INIT_DATA_BYTES + "&hash=00", "init data is too large"),
        ("query_id=1&query_id=2&hash=00", "init data repeats a field"),
        ("auth_date=1&user=%7B%7D", "init data has no hash"),
    ],
)
def test_malformed_init_data_is_refused_with_a_clear_reason(raw: str | None, reason: str) -> None:
    assert _refused(raw) == reason


def test_a_repeated_field_is_refused_even_after_a_valid_signature() -> None:
    """Which copy a hash covers would depend on the parser: neither is believed."""
    signed = sign_init_data(TOKEN, auth_date=NOW)
    assert _refused(signed + "&user=%7B%22id%22%3A1%7D") == "init data repeats a field"
    assert _refused("user=%7B%22id%22%3A1%7D&" + signed) == "init data repeats a field"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"user": '{"id":1}'}, "init data has no valid auth_date"),
        ({"auth_date": "", "user": '{"id":1}'}, "init data has no valid auth_date"),
        ({"auth_date": "17e8", "user": '{"id":1}'}, "init data has no valid auth_date"),
        ({"auth_date": "-5", "user": '{"id":1}'}, "init data has no valid auth_date"),
        ({"auth_date": str(NOW)}, "init data names no user"),
        ({"auth_date": str(NOW), "user": "Aigerim"}, "init data user is malformed"),
        ({"auth_date": str(NOW), "user": "[1]"}, "init data user is malformed"),
        ({"auth_date": str(NOW), "user": "[" * 1300}, "init data user is malformed"),
        ({"auth_date": str(NOW), "user": '{"first_name":"A"}'}, "init data user has no valid id"),
        ({"auth_date": str(NOW), "user": '{"id":"42"}'}, "init data user has no valid id"),
        ({"auth_date": str(NOW), "user": '{"id":true}'}, "init data user has no valid id"),
        ({"auth_date": str(NOW), "user": '{"id":0}'}, "init data user has no valid id"),
    ],
)
def test_signed_but_unusable_init_data_is_refused(fields: dict[str, str], reason: str) -> None:
    assert _refused(sign_fields(TOKEN, fields)) == reason


def test_round_trip_with_the_test_signer() -> None:
    """tests/fakes/init_data.py signs what the validator accepts: the API and browser tests'
    way in."""
    user = {"id": 42, "first_name": "Ерлан «Қ» & co", "language_code": "kk", "username": "e"}
    signed = sign_init_data(
        TOKEN, auth_date=NOW, user=user, extra={"chat_type": "private", "signature": "x-y_z"}
    )
    assert validate_init_data(signed, TOKEN, now=NOW, ttl=TTL) == InitDataUser(
        user_id=42, first_name="Ерлан «Қ» & co", language_code="kk", auth_date=NOW
    )
    editor = validate_init_data(sign_init_data(TOKEN, auth_date=NOW), TOKEN, now=NOW, ttl=TTL)
    assert editor.user_id == EDITOR["id"]
    bare = sign_init_data(TOKEN, auth_date=NOW, user={"id": 7, "first_name": "N"})
    assert validate_init_data(bare, TOKEN, now=NOW, ttl=TTL).language_code is None


def test_the_refusal_never_repeats_what_it_refused() -> None:
    signed = sign_init_data(TOKEN, auth_date=NOW - 10 * TTL)
    with pytest.raises(InitDataRefused) as caught:
        validate_init_data(signed, TOKEN, now=NOW, ttl=TTL)
    digest = dict(parse_qsl(signed))["hash"]
    assert digest not in repr(caught.value) and "AAHdF6IQ" not in repr(caught.value)


def test_a_missing_bot_token_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        validate_init_data(CLASSIC, "", now=1662771648, ttl=TTL)
