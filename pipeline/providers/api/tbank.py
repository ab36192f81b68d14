"""T-Bank acquiring API: Cancel (a refund, or the release of a held payment), signed with
the terminal's password like its notifications."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from pipeline.correlation import client_hooks
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.tbank import TBankSettings, make_token

# T-Bank's ErrorCode for a Token that does not match the terminal's password.
TOKEN_REFUSED = "204"  # noqa: S105 (an error code, not a secret)


class HttpTBankApi:
    def __init__(self, settings: TBankSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=timeout(5.0), event_hooks=client_hooks())

    def terminal_for(self, terminal: str | None) -> str | None:
        """The terminal a payment is cancelled through: its own, or the only one there is."""
        known = {key for key, _ in self.settings.pairs()}
        if terminal is not None:
            return terminal if terminal in known else None
        return next(iter(known)) if len(known) == 1 else None

    def cancel(self, terminal: str, payment_id: str, amount: int) -> dict[str, Any]:
        """Cancel `amount` kopecks of a payment: refunded when confirmed, reversed when held."""
        passwords = self.settings.passwords_of(terminal)
        if not passwords:
            raise ApiRejected(f"T-Bank terminal {terminal} is not configured (TBANK_TERMINALS)")
        what = f"T-Bank Cancel of {payment_id}"
        fields: dict[str, Any] = {"TerminalKey": terminal, "PaymentId": payment_id}
        fields["Amount"] = str(amount)  # hashed as its text, sent as the number
        url = f"{self.settings.api_base.rstrip('/')}/Cancel"
        # While a password is rotated only one of the terminal's passwords is valid: a
        # wrong token is refused before anything happens, so the next one is tried.
        for password in passwords:
            body = {**fields, "Amount": amount, "Token": make_token(fields, password)}
            response = call(partial(self.client.post, url, json=body), what)
            if response.status_code != 200:
                raise rejected(response, what)
            answer = json_body(response, what)
            if str(answer.get("ErrorCode", "0")) != TOKEN_REFUSED:
                break
        if answer.get("Success") is not True or str(answer.get("ErrorCode", "0")) != "0":
            code = answer.get("ErrorCode")
            message = str(answer.get("Message") or answer.get("Details") or "")[:200]
            raise ApiRejected(f"{what}: refused (ErrorCode {code}) {message}".strip())
        return answer
