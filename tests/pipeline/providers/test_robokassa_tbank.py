"""Robokassa (GET and POST ResultURL, Shp_ parameters, test payments, hash choice) and
T-Bank (the documented token example, rotation, terminal key, fiscalization)."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl

import pytest

from pipeline.providers.parsing import json_lexemes
from pipeline.providers.robokassa import signature
from pipeline.providers.tbank import TBankSettings, make_token
from tests.pipeline.providers.cases import RobokassaCase, TBankCase, fixture, fixture_json
from tests.pipeline.providers.conftest import Send, drain, enqueued, running_receiver


def test_robokassa_get_result_url(receiver: Send, broker: str) -> None:
    response = receiver(RobokassaCase("GET").valid())
    assert (response.status_code, response.text) == (200, "OK450009")
    assert response.headers["content-type"].startswith("text/plain")
    [envelope] = drain(broker)
    # A GET carries its data in the query: that is what gets stored.
    stored = dict(parse_qsl(envelope.body.decode()))
    assert stored["OutSum"] == "100.000000" and stored["Shp_item"] == "2"


@pytest.mark.parametrize("variant", ["tampered", "wrong_secret", "missing_auth"])
def test_robokassa_get_forgeries(variant: str, receiver: Send, broker: str) -> None:
    response = receiver(getattr(RobokassaCase("GET"), variant)())
    assert response.status_code == 401
    assert enqueued(broker) == 0


def test_robokassa_empty_get_is_a_400(receiver: Send) -> None:
    assert receiver(RobokassaCase("GET").empty()).status_code == 400


def test_robokassa_signature_covers_sorted_shp_parameters() -> None:
    fields = {"OutSum": "100.00", "InvId": "5", "Shp_b": "2", "Shp_a": "1"}
    expected = hashlib.md5(b"100.00:5:secret:Shp_a=1:Shp_b=2").hexdigest()
    assert signature(fields, "secret") == expected


def test_robokassa_lower_case_signature_and_rotated_password(receiver: Send) -> None:
    case = RobokassaCase()
    fields = case.fields("rk-pass2-new")
    fields["SignatureValue"] = fields["SignatureValue"].lower()
    assert receiver(case.send(fields)).text == "OK450009"


def test_robokassa_test_payments_need_the_test_password(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = RobokassaCase()
    with running_receiver(broker) as (_, send):
        assert send(case.send(case.fields("rk-test-pass2", IsTest="1"))).text == "OK450009"
        # A live password does not sign test payments, nor a test password live ones.
        assert send(case.send(case.fields("rk-pass2-old", IsTest="1"))).status_code == 401
        assert send(case.send(case.fields("rk-test-pass2"))).status_code == 401
    monkeypatch.delenv("ROBOKASSA_TEST_PASSWORD2")
    with running_receiver(broker) as (_, send):
        response = send(case.send(case.fields("rk-test-pass2", IsTest="1")))
        assert response.status_code == 401


def test_robokassa_other_hash_algorithm(broker: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROBOKASSA_HASH_ALGORITHM", "sha256")
    case = RobokassaCase()
    fields = dict(parse_qsl(fixture("robokassa", "result.txt").decode()))
    fields["SignatureValue"] = signature(fields, "rk-pass2-old", "sha256")
    with running_receiver(broker) as (_, send):
        assert send(case.send(fields)).text == "OK450009"
        assert send(case.valid()).status_code == 401  # MD5 no longer matches


def test_tbank_token_matches_the_documented_example() -> None:
    body = json.dumps(
        {
            "TerminalKey": "MerchantTerminalKey",
            "Amount": 19200,
            "OrderId": "21090",
            "Description": "Подарочная карта на 1000 рублей",
            "DATA": {"Phone": "+71234567890", "Email": "a@test.com"},
            "Receipt": {"Email": "a@test.com", "Taxation": "osn", "Items": []},
        },
        ensure_ascii=False,
    ).encode()
    token = make_token(json_lexemes(body), "usaf8fw8fsw21g")
    assert token == "0024a00af7c350a3a67ca168ce06502aa72772456662e38696d48b56ee9c97d9"


def test_tbank_booleans_are_lower_case_words() -> None:
    assert make_token({"Success": True}, "p") == make_token({"Success": "true"}, "p")


def test_tbank_previous_password_still_accepted(receiver: Send) -> None:
    case = TBankCase()
    fields = case.notification("tb-pass-old")
    assert receiver(case.signed(json.dumps(fields).encode())).text == "OK"


def _tbank_body(terminal: str, password: str) -> bytes:
    fields = fixture_json("tbank", "payment_confirmed.json") | {"TerminalKey": terminal}
    fields["Token"] = make_token(json_lexemes(json.dumps(fields).encode()), password)
    return json.dumps(fields).encode()


def test_tbank_each_terminal_is_checked_with_its_own_password(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TBANK_TERMINALS", "ShopA:pass-a, ShopB:pass-b, ShopB:pass-b2")
    with running_receiver(broker) as (_, send):
        assert send(TBankCase().signed(_tbank_body("ShopA", "pass-a"))).text == "OK"
        assert send(TBankCase().signed(_tbank_body("ShopB", "pass-b2"))).text == "OK"
        # Terminal B's password does not sign terminal A's notifications.
        assert send(TBankCase().signed(_tbank_body("ShopA", "pass-b"))).status_code == 401
        assert send(TBankCase().signed(_tbank_body("ShopC", "pass-a"))).status_code == 401
        # The older single-terminal settings keep working beside the pairs.
        assert send(TBankCase().valid()).text == "OK"
    assert enqueued(broker) == 3


def test_tbank_ambiguous_or_malformed_settings_fail_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TBANK_TERMINAL_KEY", "ShopA,ShopB")
    with pytest.raises(ValueError, match="TBANK_TERMINALS=terminal:password"):
        TBankSettings()
    monkeypatch.delenv("TBANK_PASSWORD")
    monkeypatch.setenv("TBANK_TERMINALS", "ShopA:pass-a,no-colon-secret")
    with pytest.raises(ValueError, match="entry 2 is not") as error:
        TBankSettings()
    assert "no-colon-secret" not in str(error.value)


def test_tbank_other_terminal_is_rejected(receiver: Send, broker: str) -> None:
    case = TBankCase()
    fields = json.loads(case.valid().body)
    fields["TerminalKey"] = "SomeoneElsesTerminal"
    del fields["Token"]
    fields["Token"] = make_token(json_lexemes(json.dumps(fields).encode()), "tb-pass-new")
    response = receiver(case.signed(json.dumps(fields).encode()))
    assert response.status_code == 401
    assert enqueued(broker) == 0


@pytest.mark.parametrize(
    ("file", "key", "event_type"),
    [
        ("payment_confirmed.json", "8742591:CONFIRMED", "payment.CONFIRMED"),
        ("payment_authorized.json", "8742591:AUTHORIZED", "payment.AUTHORIZED"),
        ("payment_rejected.json", "8742599:REJECTED", "payment.REJECTED"),
        ("receipt.json", "8742591:RECEIPT:Income:1234", "receipt"),
    ],
)
def test_tbank_notifications_keyed_by_payment_and_status(
    file: str, key: str, event_type: str, receiver: Send, broker: str
) -> None:
    assert receiver(TBankCase(file).valid()).text == "OK"
    [envelope] = drain(broker)
    assert (envelope.external_id, envelope.event_type) == (key, event_type)
