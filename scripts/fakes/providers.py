"""A fake YooKassa API v3 and ATOL Online v5 for whole-process tests and local runs.

YooKassa: `POST /v3/payments` (Idempotence-Key honoured, redirect confirmation),
`GET /v3/payments/{id}`, `POST /v3/refunds` (succeeds at once and raises the payment's
`refunded_amount`), `GET /v3/refunds/{id}`.
ATOL (under `/possystem/v5`): `POST getToken`, `POST {group}/sell` and `sell_refund`
(a repeated `external_id` gets the first uuid), `GET {group}/report/{uuid}`. A document is
registered at once; the fake then POSTs the report to the receipt's `callback_url`, like
ATOL does, unless callbacks are switched off (the poller must settle it then).

Control: `POST /_fake/yookassa/payments/{id} {"status": "succeeded"}` moves a payment,
`POST /_fake/config {"atol_callbacks": false}`, `GET /_fake/calls`, `POST /_fake/reset`.

Run: `python -m scripts.fakes.providers --port 8082`, then YOOKASSA_API_BASE=http://127.0.0.1:8082
and ATOL_API_BASE=http://127.0.0.1:8082/possystem/v5.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

ATOL = "/possystem/v5"
TOKEN = "fake-atol-token"
OFD = "https://check.ofd.ru/rec/{uuid}"


@dataclass
class ProviderState:
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Idempotence-Key -> object id, as YooKassa keeps it for 24 h.
    idempotence: dict[str, str] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_external_id: dict[str, str] = field(default_factory=dict)
    atol_callbacks: bool = True
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _yk_error(code: int, description: str) -> web.Response:
    body = {"type": "error", "code": "invalid_request", "description": description}
    return web.json_response(body, status=code)


def new_payment(body: dict[str, Any]) -> dict[str, Any]:
    payment_id = f"2f{uuid.uuid4().hex[:30]}"
    confirmation = body.get("confirmation") or {}
    return {
        "id": payment_id,
        "status": "pending",
        "paid": False,
        "amount": body["amount"],
        "description": body.get("description", ""),
        "metadata": body.get("metadata") or {},
        "created_at": _now(),
        "test": True,
        "refundable": False,
        "confirmation": {
            "type": "redirect",
            "return_url": confirmation.get("return_url", ""),
            "confirmation_url": f"https://yoomoney.ru/checkout/payments/v2/contract?orderId={payment_id}",
        },
    }


def _set_status(payment: dict[str, Any], status: str) -> None:
    payment["status"] = status
    payment["paid"] = status in {"succeeded", "waiting_for_capture"}
    payment["refundable"] = status == "succeeded"


def make_app(state: ProviderState | None = None) -> web.Application:
    state = state or ProviderState()
    app = web.Application()

    def record(request: web.Request, body: Any) -> None:
        with state.lock:
            state.calls.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "body": body,
                    "idempotence_key": request.headers.get("Idempotence-Key"),
                    "at": time.time(),
                }
            )

    async def create_payment(request: web.Request) -> web.Response:
        body = await request.json()
        record(request, body)
        key = request.headers.get("Idempotence-Key")
        if not key:
            return _yk_error(400, "Idempotence-Key header is required")
        with state.lock:
            if key in state.idempotence:
                return web.json_response(state.payments[state.idempotence[key]])
            payment = new_payment(body)
            state.payments[payment["id"]] = payment
            state.idempotence[key] = payment["id"]
            return web.json_response(payment)

    async def get_payment(request: web.Request) -> web.Response:
        record(request, None)
        with state.lock:
            payment = state.payments.get(request.match_info["id"])
            if payment is None:
                return _yk_error(404, "payment not found")
            return web.json_response(payment)

    async def create_refund(request: web.Request) -> web.Response:
        body = await request.json()
        record(request, body)
        key = request.headers.get("Idempotence-Key")
        if not key:
            return _yk_error(400, "Idempotence-Key header is required")
        with state.lock:
            if key in state.idempotence:
                return web.json_response(state.refunds[state.idempotence[key]])
            payment = state.payments.get(str(body.get("payment_id")))
            if payment is None or payment["status"] != "succeeded":
                return _yk_error(400, "payment cannot be refunded")
            value = float(body["amount"]["value"])
            done = float(payment.get("refunded_amount", {}).get("value", 0))
            if done + value > float(payment["amount"]["value"]) + 1e-9:
                return _yk_error(400, "refund exceeds the payment")
            currency = payment["amount"]["currency"]
            payment["refunded_amount"] = {"value": f"{done + value:.2f}", "currency": currency}
            refund = {
                "id": f"rf{uuid.uuid4().hex[:30]}",
                "payment_id": payment["id"],
                "status": "succeeded",
                "amount": body["amount"],
                "created_at": _now(),
            }
            state.refunds[refund["id"]] = refund
            state.idempotence[key] = refund["id"]
            return web.json_response(refund)

    async def get_refund(request: web.Request) -> web.Response:
        record(request, None)
        with state.lock:
            refund = state.refunds.get(request.match_info["id"])
        if refund is None:
            return _yk_error(404, "refund not found")
        return web.json_response(refund)

    async def move_payment(request: web.Request) -> web.Response:
        body = await request.json()
        with state.lock:
            payment = state.payments.get(request.match_info["id"])
            if payment is None:
                return _yk_error(404, "payment not found")
            _set_status(payment, str(body["status"]))
            return web.json_response(payment)

    async def get_token(request: web.Request) -> web.Response:
        body = await request.json()
        record(request, {"login": body.get("login")})  # never record the password
        if not body.get("login") or not body.get("pass"):
            error = {"error_id": "x", "code": 12, "text": "bad login", "type": "system"}
            return web.json_response({"error": error, "timestamp": _now()})
        return web.json_response({"token": TOKEN, "error": None, "timestamp": _now()})

    async def register(request: web.Request) -> web.Response:
        body = await request.json()
        record(request, body)
        if request.headers.get("Token") != TOKEN:
            return web.json_response({"error": {"code": 11, "text": "token"}}, status=401)
        external_id = str(body.get("external_id"))
        with state.lock:
            known = state.by_external_id.get(external_id)
            if known is not None:  # ATOL answers a repeat with the first document's uuid
                error = {"error_id": "x", "code": 33, "text": "repeat", "type": "system"}
                return web.json_response(
                    {"uuid": known, "status": "fail", "error": error}, status=400
                )
            doc_uuid = str(uuid.uuid4())
            total = body.get("receipt", {}).get("total", 0)
            state.documents[doc_uuid] = {
                "uuid": doc_uuid,
                "status": "done",
                "external_id": external_id,
                "group_code": request.match_info["group"],
                "operation": request.match_info["operation"],
                "callback_url": body.get("service", {}).get("callback_url", ""),
                "timestamp": _now(),
                "error": None,
                "payload": {
                    "total": total,
                    "fn_number": "9999078900004312",
                    "shift_number": 1,
                    "receipt_datetime": time.strftime("%d.%m.%Y %H:%M:%S"),
                    "fiscal_receipt_number": len(state.documents) + 1,
                    "fiscal_document_number": len(state.documents) + 100,
                    "ecr_registration_number": "0000000001002292",
                    "fiscal_document_attribute": 3026058931,
                    "fns_site": "www.nalog.gov.ru",
                    "ofd_inn": "7704358518",
                    "ofd_receipt_url": OFD.format(uuid=doc_uuid),
                },
            }
            state.by_external_id[external_id] = doc_uuid
            callback = state.atol_callbacks
        if callback:
            asyncio.get_running_loop().create_task(_callback(state, doc_uuid))
        return web.json_response({"uuid": doc_uuid, "status": "wait", "error": None})

    async def report(request: web.Request) -> web.Response:
        record(request, None)
        if request.headers.get("Token") != TOKEN:
            return web.json_response({"error": {"code": 11, "text": "token"}}, status=401)
        with state.lock:
            document = state.documents.get(request.match_info["uuid"])
        if document is None:
            return web.json_response({"error": {"code": 34, "text": "not found"}}, status=400)
        return web.json_response({k: v for k, v in document.items() if k != "callback_url"})

    async def config(request: web.Request) -> web.Response:
        body = await request.json()
        with state.lock:
            if "atol_callbacks" in body:
                state.atol_callbacks = bool(body["atol_callbacks"])
        return web.json_response({"ok": True})

    async def calls(request: web.Request) -> web.Response:
        with state.lock:
            return web.json_response(list(state.calls))

    async def reset(request: web.Request) -> web.Response:
        with state.lock:
            state.calls.clear()
            state.atol_callbacks = True
        return web.json_response({"ok": True})

    app.router.add_post("/v3/payments", create_payment)
    app.router.add_get("/v3/payments/{id}", get_payment)
    app.router.add_post("/v3/refunds", create_refund)
    app.router.add_get("/v3/refunds/{id}", get_refund)
    app.router.add_post(f"{ATOL}/getToken", get_token)
    app.router.add_post(ATOL + "/{group}/{operation:sell|sell_refund}", register)
    app.router.add_get(ATOL + "/{group}/report/{uuid}", report)
    app.router.add_post("/_fake/yookassa/payments/{id}", move_payment)
    app.router.add_post("/_fake/config", config)
    app.router.add_get("/_fake/calls", calls)
    app.router.add_post("/_fake/reset", reset)
    return app


async def _callback(state: ProviderState, doc_uuid: str) -> None:
    """POST the report to the document's callback_url, shortly after answering."""
    await asyncio.sleep(0.2)
    with state.lock:
        document = dict(state.documents[doc_uuid])
    url = document.pop("callback_url")
    if not url:
        return
    for _ in range(5):  # ATOL retries failed callbacks too
        try:
            async with aiohttp.ClientSession() as http, http.post(url, json=document) as answer:
                if answer.status < 500:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(1)


class FakeProvidersThread:
    """The fake in a background thread of this process (tests)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.state = ProviderState()
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(make_app(self.state))
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, host, port)
        self._loop.run_until_complete(site.start())
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        self.atol_url = self.url + ATOL
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def create_payment(self, amount: str, order: str, currency: str = "RUB") -> dict[str, Any]:
        body = {"amount": {"value": amount, "currency": currency}, "metadata": {"order_id": order}}
        with self.state.lock:
            payment = new_payment(body)
            self.state.payments[payment["id"]] = payment
            return dict(payment)

    def set_payment(self, payment_id: str, status: str) -> None:
        with self.state.lock:
            _set_status(self.state.payments[payment_id], status)

    def calls(self, path_part: str = "") -> list[dict[str, Any]]:
        with self.state.lock:
            return [c for c in self.state.calls if path_part in c["path"]]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
