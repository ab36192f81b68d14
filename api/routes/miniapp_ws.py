"""`/api/v1/miniapp/ws`: the buyer's own order changes, live.

The client's first message is `{"type": "subscribe", "init_data": "<initData>"}` (a
browser cannot set headers on a WebSocket, and the URL would end up in logs). The server
answers with the buyer's orders as the database has them (`{"type": "orders", …}`, the
catch-up of every reconnect), then `{"type": "ready"}`, then relays each change of those
orders published after commit (pipeline.live.orders) on the operators' channel.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from api.errors import ProblemError
from api.live.hub import RESYNC, Filters, Hub, Subscriber
from api.live.protocol import CloseCode
from api.miniapp.auth import bot_user, telegram_user
from api.runtime import ApiRuntime
from pipeline.live.channel import Topic
from pipeline.live.orders import order_item, receipt_urls
from pipeline.unit_of_work import unit_of_work
from schema.orders import Order

router = APIRouter(prefix="/miniapp", tags=["miniapp"])
SUBSCRIBE_TIMEOUT_S = 10.0
RECENT = 50


class Subscribe(BaseModel):
    type: str = Field(pattern="^subscribe$")
    init_data: str = Field(min_length=1, max_length=8192)


def _login(runtime: ApiRuntime, raw: str) -> int:
    tg = telegram_user(runtime, raw, runtime.settings.miniapp_read_max_age_s)
    with unit_of_work(runtime.sessions, runtime.deps) as uow:
        return bot_user(uow.session, tg, runtime.settings).id


def _orders(runtime: ApiRuntime, user_id: int) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        found = list(
            session.query(Order)
            .filter(Order.user_id == user_id)
            .order_by(Order.id.desc())
            .limit(RECENT)
        )
        urls = receipt_urls(session, [o.id for o in found])
        return [order_item(o, urls.get(o.id, [])) for o in found]


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)


@router.websocket("/ws", name="miniapp_live")
async def miniapp_live(websocket: WebSocket) -> None:
    runtime: ApiRuntime = websocket.app.state.runtime
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_json(), SUBSCRIBE_TIMEOUT_S)
        request = Subscribe.model_validate(first)
    except WebSocketDisconnect:
        return
    except (TimeoutError, ValueError, ValidationError):
        await _close(websocket, CloseCode.BAD_REQUEST, "expected a subscribe message")
        return
    try:
        user_id = await run_in_threadpool(_login, runtime, request.init_data)
    except ProblemError as exc:
        code = CloseCode.FORBIDDEN if exc.status == 403 else CloseCode.UNAUTHENTICATED
        await _close(websocket, code, (exc.detail or exc.title)[:120])
        return
    # Registered before the catch-up read: a change committed meanwhile is queued, not lost.
    subscriber = hub.subscribe(Filters(frozenset({Topic.ORDERS}), user_id=user_id))
    try:
        await _relay(websocket, runtime, subscriber, user_id)
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(subscriber)


async def _relay(
    websocket: WebSocket, runtime: ApiRuntime, subscriber: Subscriber, user_id: int
) -> None:
    async def catch_up() -> None:
        items = await run_in_threadpool(_orders, runtime, user_id)
        await websocket.send_text(orjson.dumps({"type": "orders", "items": items}).decode())

    async def pump() -> None:
        while True:
            topic, _, encoded = await subscriber.queue.get()
            if topic == RESYNC:
                await catch_up()
            else:
                await websocket.send_text(encoded)

    async def ping() -> None:
        while True:
            await asyncio.sleep(runtime.settings.api_ws_ping_interval_s)
            await websocket.send_text('{"type":"ping"}')

    async def read() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    await catch_up()
    await websocket.send_text('{"type":"ready"}')
    tasks: list[asyncio.Task[Any]] = [asyncio.create_task(job()) for job in (pump, ping, read)]
    tasks.append(asyncio.create_task(subscriber.overflowed.wait()))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if subscriber.overflowed.is_set():
        await _close(websocket, CloseCode.SLOW_CONSUMER, "too slow; reconnect")
