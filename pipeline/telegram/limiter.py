"""A rate limiter shared by every worker: GCRA in one Redis Lua call over several keys.

A send asks for every limit that applies (overall, its chat, its group) at once; either
all admit it, or none is charged and the caller learns how long to wait.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local w = tat - now - (burst - 1) * interval
  if w > wait then wait = w end
end
if wait > 0 then return tostring(wait) end
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tat = tats[i] + interval
  redis.call('SET', KEYS[i], tostring(tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
end
return '0'
"""


@dataclass(frozen=True)
class Limit:
    key: str
    per_second: float
    burst: int = 1


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str = "rl:") -> None:
        self.redis = client
        self.prefix = prefix
        self._script: Any = client.register_script(_GCRA)

    def try_acquire(self, limits: list[Limit]) -> float:
        """0 when admitted (and charged); otherwise seconds to wait before asking again."""
        keys = [self.prefix + limit.key for limit in limits]
        args: list[float] = []
        for limit in limits:
            args += [1.0 / limit.per_second, limit.burst]
        return float(self._script(keys=keys, args=args))

    def acquire(self, limits: list[Limit], max_wait_s: float = 60.0) -> float:
        """Block until admitted; the time waited. Gives up (returns -1) past `max_wait_s`."""
        started = time.monotonic()
        while True:
            wait = self.try_acquire(limits)
            if wait <= 0:
                return time.monotonic() - started
            if time.monotonic() - started + wait > max_wait_s:
                return -1.0
            time.sleep(wait)


# Telegram counts messages in windows (30 in any second, 1 a second per chat, 20 in any
# minute per group). Sends paced exactly at the limit, or with a burst, put limit + 1 into
# some window as soon as two of them arrive a little closer than they left (network and
# scheduling jitter). Each interval is therefore stretched by this fraction, with no
# burst: any window then holds at most the limit even when sends drift by up to
# PACING_MARGIN of the window (100 ms of a second, 6 s of a group's minute).
PACING_MARGIN = 0.1


def telegram_limits(
    chat_id: int, global_rate: float, chat_rate: float, group_per_min: float
) -> list[Limit]:
    """Telegram's limits for one message: overall, per chat, and per group (chat id < 0),
    each paced PACING_MARGIN below the configured rate."""
    slower = 1.0 + PACING_MARGIN
    limits = [
        Limit("tg:global", global_rate / slower),
        Limit(f"tg:chat:{chat_id}", chat_rate / slower),
    ]
    if chat_id < 0:
        limits.append(Limit(f"tg:group:{chat_id}", group_per_min / 60.0 / slower))
    return limits
