"""The "database unreachable" alert, which has to work while the database is down.

Other alerts live in the `alerts` table and go out through the outbox; this one cannot.
Its state is in Redis, shared by every worker process, so an outage gives one alert and
one resolve however many processes notice it (without Redis: per process). The message
goes straight to the Bot API. The same object keeps the log short during an outage: one
line when a process first sees it, a summary a minute, one line when it ends; the
failures in between are the tasks' own one-line retry notices.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from loguru import logger

from pipeline.alerts.probes import redis_url
from pipeline.alerts.texts import N_, say
from pipeline.settings import Settings
from pipeline.telegram.api import BotApi, TelegramError

SUMMARY_EVERY_S = 60.0
# How often a process that saw nothing asks Redis whether an outage is still open.
CHECK_EVERY_S = 10.0
STATE_TTL_S = 7 * 24 * 3600


def send_alert(settings: Settings, text: str) -> None:
    """To ALERT_CHAT_ID through the Bot API; only logged when there is no chat or bot."""
    if settings.alert_chat_id is None or settings.telegram_bot_token is None:
        logger.warning("alert (no ALERT_CHAT_ID or bot token) {}", text)
        return
    api = BotApi(settings)
    try:
        api.send_message(settings.alert_chat_id, text)
    finally:
        api.client.close()


class DatabaseOutage:
    def __init__(
        self,
        settings: Settings,
        send: Callable[[Settings, str], None] = send_alert,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.send = send
        self.clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None  # this process's view
        self._deferred = 0
        self._summary_at = 0.0
        self._checked_at = 0.0
        self._alerted_here = False  # the fallback without Redis
        url = redis_url(self.settings)
        self._redis = (
            redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None
        )

    def _key(self, name: str) -> str:
        return f"{self.settings.queue_prefix}pipeline:outage:database:{name}"

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, error: str) -> None:
        """One failure because the database is unreachable."""
        now = self.clock()
        with self._lock:
            if self._since is None:
                self._since, self._deferred, self._summary_at = now, 0, now
                logger.warning("database unreachable, work is deferred: {}", error)
            self._deferred += 1
            if now - self._summary_at >= SUMMARY_EVERY_S:
                logger.warning(
                    "database unreachable for {:.0f} s: {} tasks deferred in this process",
                    now - self._since,
                    self._deferred,
                )
                self._summary_at = now
        self._maybe_alert(now, error)

    def _maybe_alert(self, now: float, error: str) -> None:
        after = self.settings.alert_database_after_s
        if self._redis is None:
            since: float = self._since or now
            if now - since >= after and not self._alerted_here:
                self._alerted_here = True
                self._notify(self._firing_text(now - since, error))
            return
        try:
            self._redis.set(self._key("since"), str(now), nx=True, ex=STATE_TTL_S)
            since = float(self._redis.get(self._key("since")) or now)
            if now - since < after or not self._redis.set(
                self._key("alerted"), "1", nx=True, ex=STATE_TTL_S
            ):
                return
        except redis.RedisError as exc:
            logger.debug("outage state not in Redis: {}", exc)
            return
        if not self._notify(self._firing_text(now - since, error)):
            self._redis.delete(self._key("alerted"))  # a later failure tries again

    def recovered(self) -> None:
        """The database answered. Cheap when nothing is open (a Redis look every 10 s)."""
        now = self.clock()
        with self._lock:
            since, deferred = self._since, self._deferred
            if since is None and now - self._checked_at < CHECK_EVERY_S:
                return
            self._checked_at = now
            self._since, self._deferred = None, 0
        if since is not None:
            logger.info(
                "database reachable again after {:.0f} s; {} tasks were deferred here",
                now - since,
                deferred,
            )
        if self._redis is None:
            if self._alerted_here and since is not None:
                self._alerted_here = False
                self._notify(self._resolved_text(now - since))
            return
        try:
            with self._redis.pipeline() as pipe:
                pipe.get(self._key("since"))
                pipe.delete(self._key("since"))
                pipe.delete(self._key("alerted"))
                shared_since, _, was_alerted = pipe.execute()
        except redis.RedisError as exc:
            logger.debug("outage state not in Redis: {}", exc)
            return
        if was_alerted:
            lasted = now - float(shared_since) if shared_since else now - (since or now)
            self._notify(self._resolved_text(lasted))

    def _notify(self, text: str) -> bool:
        try:
            self.send(self.settings, text)
        except (TelegramError, OSError, RuntimeError) as exc:
            logger.warning("database alert not sent: {}", exc)
            return False
        return True

    def _firing_text(self, lasted: float, error: str) -> str:
        text = say(
            self.settings,
            N_(
                "database unreachable for {seconds} s; webhooks are accepted and "
                "their storing is retried until it is back: {error}"
            ),
            seconds=f"{lasted:.0f}",
            error=error,
        )
        return f"🔴 {text}\n[database_unreachable]"

    def _resolved_text(self, lasted: float) -> str:
        text = say(
            self.settings,
            N_(
                "resolved: database reachable again after {seconds} s; deferred "
                "webhooks are being stored"
            ),
            seconds=f"{lasted:.0f}",
        )
        return f"✅ {text}\n[database_unreachable]"
