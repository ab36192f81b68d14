"""initData checks: the bot-token HMAC and Telegram's Ed25519 third-party signature."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from api.miniapp.initdata import InitDataError, Verifier, verify
from pipeline.miniapp.signing import sign_init_data

TOKEN = "123456:miniapp-test-token"
BOT_ID = 123456
USER = {"id": 42, "first_name": "Ann", "username": "ann", "language_code": "ru"}
DAY = 86400.0


def signed(**kwargs: object) -> str:
    return sign_init_data(TOKEN, USER, **kwargs)  # type: ignore[arg-type]


def fields(raw: str) -> list[tuple[str, str]]:
    return parse_qsl(raw, keep_blank_values=True)


def test_valid_init_data_names_the_user() -> None:
    user = verify(signed(), Verifier(bot_token=TOKEN), DAY)
    assert (user.id, user.username, user.language_code) == (42, "ann", "ru")


@pytest.mark.parametrize("field", ["query_id", "user", "auth_date", "hash"])
def test_each_tampered_field_is_refused(field: str) -> None:
    pairs = fields(signed())
    changed = []
    for key, value in pairs:
        if key == field:
            if key == "user":
                value = json.dumps({**USER, "id": 43}, separators=(",", ":"))
            elif key == "auth_date":
                value = str(int(value) - 1)
            elif key == "hash":
                value = ("0" if value[0] != "0" else "1") + value[1:]
            else:
                value = value + "x"
        changed.append((key, value))
    with pytest.raises(InitDataError, match="signature"):
        verify(urlencode(changed), Verifier(bot_token=TOKEN), DAY)


def test_an_added_field_breaks_the_signature() -> None:
    raw = signed() + "&start_param=promo"
    with pytest.raises(InitDataError, match="signature"):
        verify(raw, Verifier(bot_token=TOKEN), DAY)


def test_another_bots_token_is_refused() -> None:
    with pytest.raises(InitDataError, match="signature"):
        verify(signed(), Verifier(bot_token="654321:other-token"), DAY)


def test_expired_init_data_is_refused_and_the_limit_is_the_callers() -> None:
    raw = signed(auth_date=int(time.time()) - 7200)
    assert verify(raw, Verifier(bot_token=TOKEN), DAY).id == 42  # fine for reading
    with pytest.raises(InitDataError, match="too old"):
        verify(raw, Verifier(bot_token=TOKEN), 3600)  # not for paying


def test_init_data_from_the_future_is_refused() -> None:
    with pytest.raises(InitDataError, match="too old"):
        verify(signed(auth_date=int(time.time()) + 3600), Verifier(bot_token=TOKEN), DAY)


def test_missing_hash_is_refused() -> None:
    raw = urlencode([(k, v) for k, v in fields(signed()) if k != "hash"])
    with pytest.raises(InitDataError, match="no hash"):
        verify(raw, Verifier(bot_token=TOKEN), DAY)


def test_duplicate_keys_are_refused_even_when_the_last_one_is_signed() -> None:
    good = signed()
    forged = urlencode([("user", json.dumps({**USER, "id": 1}))]) + "&" + good
    with pytest.raises(InitDataError, match="repeats user"):
        verify(forged, Verifier(bot_token=TOKEN), DAY)


@pytest.mark.parametrize("raw", ["", "not a query", "a=1&" * 3000])
def test_garbage_is_refused(raw: str) -> None:
    with pytest.raises(InitDataError):
        verify(raw, Verifier(bot_token=TOKEN), DAY)


def third_party(key: Ed25519PrivateKey, bot_id: int = BOT_ID) -> str:
    """initData as Telegram signs it for third parties: Ed25519 over `bot_id:WebAppData`."""
    data = {
        "auth_date": str(int(time.time())),
        "query_id": "AAthird",
        "user": json.dumps(USER, separators=(",", ":")),
    }
    check = f"{bot_id}:WebAppData\n" + "\n".join(f"{k}={v}" for k, v in sorted(data.items()))
    signature = base64.urlsafe_b64encode(key.sign(check.encode())).decode().rstrip("=")
    return urlencode({**data, "signature": signature, "hash": "0" * 64})


def public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_third_party_signature_valid() -> None:
    key = Ed25519PrivateKey.generate()
    verifier = Verifier(bot_id=BOT_ID, public_key=public(key))
    assert verify(third_party(key), verifier, DAY).id == 42


def test_third_party_signature_invalid() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with pytest.raises(InitDataError, match="signature"):  # signed by somebody else
        verify(third_party(other), Verifier(bot_id=BOT_ID, public_key=public(key)), DAY)
    with pytest.raises(InitDataError, match="signature"):  # for another bot
        verify(third_party(key, bot_id=999), Verifier(bot_id=BOT_ID, public_key=public(key)), DAY)
    mangled = third_party(key).replace("signature=", "signature=%21%21")
    with pytest.raises(InitDataError, match="signature"):  # not even base64
        verify(mangled, Verifier(bot_id=BOT_ID, public_key=public(key)), DAY)


def test_a_verifier_needs_a_token_or_a_bot_id() -> None:
    with pytest.raises(ValueError, match="bot token or the bot id"):
        Verifier()
