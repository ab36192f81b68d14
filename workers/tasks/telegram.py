"""The bot's updates: one chat at a time, in update_id order (see pipeline.telegram.updates)."""

from __future__ import annotations

from pipeline.messaging.queues import TASK_HANDLE_CHAT, TELEGRAM
from pipeline.messaging.tasks import send_task
from pipeline.telegram.updates import handle_chat, pending_chats
from workers.celery_app import app
from workers.context import runtime, sessions
from workers.tasks.base import LoggedTask

LOCKED_RETRY_S = 1.0


@app.task(name=TASK_HANDLE_CHAT, base=LoggedTask, bind=True, max_retries=30)
def handle_chat_updates(self: LoggedTask, chat_id: int | None) -> int:
    if chat_id is None:  # the sweep: chats whose task was lost
        with sessions()() as session:
            chats = pending_chats(session)
        for chat in chats:
            send_task(runtime().sender, TASK_HANDLE_CHAT, TELEGRAM, chat)
        return len(chats)
    if runtime().telegram.waiting():  # the updates stay stored; the sweep sends them on later
        return 0
    handled = handle_chat(sessions(), chat_id, runtime().bot, runtime().deps)
    if handled is None:
        # Another worker holds the chat; it may have read its list before ours landed.
        raise self.retry(countdown=LOCKED_RETRY_S)
    return handled
