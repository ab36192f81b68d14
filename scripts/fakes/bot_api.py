"""A fake Telegram Bot API server for whole-process tests, local runs and benchmarks.

Serves `/bot<token>/<method>` with the real response shapes, enforces Telegram's
sending limits with 429 + `retry_after` as sliding windows (at most 30 messages in any
one second overall, 1 in any second per chat, 20 in any minute per group), answers 403
for users who blocked the bot and 400 for unknown chats, and records every call. Control endpoints:
`POST /_fake/config {"blocked": [...], "unknown": [...]}`, `GET /_fake/calls`,
`GET /_fake/stats`, `POST /_fake/reset`.

Run: `python -m scripts.fakes.bot_api --port 8081`, then TELEGRAM_API_BASE=http://127.0.0.1:8081.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

SENDING = {"sendMessage", "sendInvoice", "copyMessage", "forwardMessage", "sendPhoto"}
# Calls that only set something; the webhook and the menu button are read back by getters.
SETTERS = {
    "setWebhook",
    "deleteWebhook",
    "setMyCommands",
    "setMyDescription",
    "setMyShortDescription",
    "setChatMenuButton",
    "deleteMessage",
}
BOT = {"id": 777000, "is_bot": True, "first_name": "Shop", "username": "shop_test_bot"}


class SlidingWindow:
    """At most `limit` messages in any `window_s` seconds (a window ending at any moment),
    which is how Telegram states its limits."""

    def __init__(self, limit: int, window_s: float = 1.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self.sent: dict[object, collections.deque[float]] = {}

    def wait(self, key: object, now: float) -> float:
        """0 if one more message now keeps every window within the limit, else how long
        until it would. Charges nothing: `record` does, once every limit agrees."""
        times = self.sent.setdefault(key, collections.deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return 0.0 if len(times) < self.limit else times[0] + self.window_s - now

    def record(self, key: object, now: float) -> None:
        self.sent.setdefault(key, collections.deque()).append(now)


@dataclass
class FakeState:
    global_limit: SlidingWindow = field(default_factory=lambda: SlidingWindow(30))
    chat_limit: SlidingWindow = field(default_factory=lambda: SlidingWindow(1))
    group_limit: SlidingWindow = field(default_factory=lambda: SlidingWindow(20, 60.0))
    blocked: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    calls: list[dict[str, Any]] = field(default_factory=list)
    limited: int = 0
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)
    webhook: dict[str, Any] = field(default_factory=lambda: {"url": "", "pending_update_count": 0})
    menu_button: dict[str, Any] = field(default_factory=lambda: {"type": "default"})


def ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def error(code: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


async def _params(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if request.content_type == "application/json":
        return dict(json.loads(raw or b"{}"))
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        pairs = [(k, str(v)) for k, v in form.items()]
    else:
        pairs = parse_qsl(raw.decode())
    params: dict[str, Any] = {}
    for key, value in pairs:  # aiogram sends nested values as JSON strings
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _chat_id(params: dict[str, Any]) -> int | None:
    value = params.get("chat_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _message(state: FakeState, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(state.message_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
        "from": BOT,
    }
    if "text" in params:
        message["text"] = params["text"]
    if "title" in params:
        message["invoice"] = {
            "title": params["title"],
            "description": params.get("description", ""),
            "start_parameter": "",
            "currency": params.get("currency", "XTR"),
            "total_amount": sum(int(p["amount"]) for p in params.get("prices", [])),
        }
    return message


def _invoice_problem(params: dict[str, Any]) -> str:
    """What Telegram would refuse in an invoice ("" if nothing)."""
    for name in ("title", "description", "payload", "currency", "prices"):
        if not params.get(name):
            return f"{name} is empty"
    if params["currency"] == "XTR" and (params.get("provider_token") or len(params["prices"]) != 1):
        return "Stars invoices take no provider token and exactly one price"
    return ""


def handle(state: FakeState, method: str, params: dict[str, Any]) -> web.Response:
    chat_id = _chat_id(params)
    with state.lock:
        state.calls.append({"method": method, "params": params, "at": time.time()})
        if method in SENDING and chat_id is not None:
            if chat_id in state.blocked:
                return error(403, "Forbidden: bot was blocked by the user")
            if chat_id in state.unknown:
                return error(400, "Bad Request: chat not found")
            now = time.monotonic()
            windows: list[tuple[SlidingWindow, object]] = [
                (state.global_limit, "all"),
                (state.chat_limit, chat_id),
            ]
            if chat_id < 0:
                windows.append((state.group_limit, chat_id))
            wait = max(limit.wait(key, now) for limit, key in windows)
            if wait > 0:  # refused: no window is charged
                state.limited += 1
                return error(
                    429, f"Too Many Requests: retry after {math.ceil(wait)}", math.ceil(wait)
                )
            for limit, key in windows:
                limit.record(key, now)
            return ok(_message(state, chat_id, params))
    if method == "getMe":
        return ok(BOT)
    if method in {"answerPreCheckoutQuery", "answerCallbackQuery", "refundStarPayment"}:
        return ok(True)
    if method in SETTERS:
        with state.lock:
            if method == "setWebhook":
                state.webhook = {"url": params.get("url", ""), "pending_update_count": 0}
            if method == "setChatMenuButton":
                state.menu_button = params.get("menu_button") or {"type": "default"}
        return ok(True)
    if method == "getWebhookInfo":
        with state.lock:
            return ok(dict(state.webhook))
    if method == "getChatMenuButton":
        with state.lock:
            return ok(dict(state.menu_button))
    if method == "editMessageText":
        return ok(_message(state, chat_id or 0, params))
    if method == "createInvoiceLink":
        problem = _invoice_problem(params)
        if problem:
            return error(400, f"Bad Request: {problem}")
        return ok(f"https://t.me/$fake_invoice_{int(time.time() * 1000)}")
    if method in SENDING:
        return error(400, "Bad Request: chat_id is empty")
    return error(404, "Not Found: method not found")


def make_app(state: FakeState | None = None) -> web.Application:
    state = state or FakeState()
    app = web.Application()

    async def api(request: web.Request) -> web.Response:
        return handle(state, request.match_info["method"], await _params(request))

    async def config(request: web.Request) -> web.Response:
        body = await request.json()
        with state.lock:
            state.blocked.update(int(c) for c in body.get("blocked", []))
            state.unknown.update(int(c) for c in body.get("unknown", []))
        return ok(True)

    async def calls(request: web.Request) -> web.Response:
        with state.lock:
            return web.json_response(list(state.calls))

    async def stats(request: web.Request) -> web.Response:
        with state.lock:
            sent = sum(1 for c in state.calls if c["method"] in SENDING)
            return web.json_response(
                {"calls": len(state.calls), "sent": sent, "429": state.limited}
            )

    async def reset(request: web.Request) -> web.Response:
        with state.lock:
            state.calls.clear()
            state.limited = 0
            state.blocked.clear()
            state.unknown.clear()
        return ok(True)

    app.router.add_post("/bot{token}/{method}", api)
    app.router.add_get("/bot{token}/{method}", api)
    app.router.add_post("/_fake/config", config)
    app.router.add_get("/_fake/calls", calls)
    app.router.add_get("/_fake/stats", stats)
    app.router.add_post("/_fake/reset", reset)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()


class FakeBotApiThread:
    """The fake in a background thread of this process (tests, benchmarks)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        import asyncio

        self.state = FakeState()
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(make_app(self.state))
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, host, port)
        self._loop.run_until_complete(site.start())
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        with self.state.lock:
            return [c["params"] for c in self.state.calls if c["method"] == method]

    def stop(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():  # stopped: its loop may close
            self._loop.close()
