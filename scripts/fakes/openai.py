"""A fake OpenAI-compatible chat completions server for whole-process tests and local runs.

`POST …/chat/completions` answers structured requests the way a well-behaved model would,
from the request alone: an `assistantanswer` request gets the first retrieved document
(an order document first when the buyer asks about orders) as its grounded answer citing
that document, or `confident: false` when nothing was retrieved; a `labels` request gets
the configured labels. Every request is recorded as received, so tests can check what
left the pipeline (redaction). Scripted answers (`status`, raw `content`) go first.
Control endpoints: `GET /_fake/requests`, `POST /_fake/script [{"status": 429}, ...]`,
`POST /_fake/reset`.

Run: `python -m scripts.fakes.openai --port 8082`, then AI_BASE_URL=http://127.0.0.1:8082/v1.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DOCUMENT = re.compile(r'<document ref="([^"]+)" kind="([^"]+)">\n(.*?)\n</document>', re.S)
ORDERISH = re.compile(r"(?i)order|заказ|status|статус|paid|оплач")
LABELS = {
    "topic": "complaint",
    "urgency": "high",
    "sentiment": "negative",
    "draft": "We are sorry; an operator will look into it now.",
}


@dataclass
class FakeState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[dict[str, Any]] = field(default_factory=list)
    script: collections.deque[dict[str, Any]] = field(default_factory=collections.deque)
    labels: dict[str, Any] = field(default_factory=lambda: dict(LABELS))


def _assistant_answer(user: str) -> dict[str, Any]:
    documents = DOCUMENT.findall(user)
    buyer = user.split("<buyer_message>", 1)[-1]
    if ORDERISH.search(buyer):
        documents.sort(key=lambda doc: doc[1] != "order")
    if not documents:
        return {"answer": "", "cited": [], "confident": False, "needs_person": False}
    ref, kind, body = documents[0]
    answer = body.split("\nA: ", 1)[1] if kind == "faq" and "\nA: " in body else body
    return {"answer": answer, "cited": [ref], "confident": True, "needs_person": False}


def _completion(content: str, prompt: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(content) // 4},
    }


def answer(state: FakeState, body: dict[str, Any]) -> web.Response:
    with state.lock:
        state.requests.append(body)
        scripted = state.script.popleft() if state.script else None
        labels = dict(state.labels)
    messages = body.get("messages") or []
    user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
    if scripted is not None:
        status = int(scripted.get("status", 200))
        if status != 200:
            return web.json_response({"error": {"message": "scripted"}}, status=status)
        return web.json_response(_completion(str(scripted.get("content", "")), user))
    name = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
    if name == "labels":
        labels["language"] = "ru" if re.search(r"[а-яё]", user, re.I) else "en"
        data = labels
    else:
        data = _assistant_answer(user)
    return web.json_response(_completion(json.dumps(data, ensure_ascii=False), user))


def make_app(state: FakeState | None = None) -> web.Application:
    state = state or FakeState()
    app = web.Application()

    async def completions(request: web.Request) -> web.Response:
        return answer(state, await request.json())

    async def requests(request: web.Request) -> web.Response:
        with state.lock:
            return web.json_response(list(state.requests))

    async def script(request: web.Request) -> web.Response:
        items = await request.json()
        with state.lock:
            state.script.extend(items)
        return web.json_response(True)

    async def reset(request: web.Request) -> web.Response:
        with state.lock:
            state.requests.clear()
            state.script.clear()
            state.labels = dict(LABELS)
        return web.json_response(True)

    app.router.add_post("/{prefix:.*}chat/completions", completions)
    app.router.add_get("/_fake/requests", requests)
    app.router.add_post("/_fake/script", script)
    app.router.add_post("/_fake/reset", reset)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, print=None)


class FakeOpenAiThread:
    """The fake in a background thread of this process (tests)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        import asyncio

        self.state = FakeState()
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(make_app(self.state))
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, host, 0)
        self._loop.run_until_complete(site.start())
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}/v1"
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def received(self) -> list[str]:
        """Every message text sent to the fake, system and user, in order."""
        with self.state.lock:
            return [m["content"] for r in self.state.requests for m in r.get("messages", [])]

    def reset(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.script.clear()
            self.state.labels = dict(LABELS)

    def stop(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():  # stopped: its loop may close
            self._loop.close()


if __name__ == "__main__":
    main()
