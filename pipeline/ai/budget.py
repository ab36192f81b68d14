"""Daily AI budgets in Redis (UTC days), shared by every process: calls per buyer, and
calls and tokens over everyone. A call is counted before it is made, so a burst cannot
overshoot; tokens are added once the answer says how many were used. A budget of 0 is no limit."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from pipeline.settings import Settings

DAY_S = 86400 + 3600  # keys outlive their day a little, for inspection


def _day() -> str:
    return datetime.now(UTC).strftime("%Y%m%d")


def _keys(user_key: str | None) -> tuple[str, str, str | None]:
    day = _day()
    user = f"ai:budget:{day}:user:{user_key}" if user_key else None
    return f"ai:budget:{day}:calls", f"ai:budget:{day}:tokens", user


def take(client: redis.Redis, settings: Settings, user_key: str | None) -> str | None:
    """Count one call; None when allowed, else which budget is spent ("user", "global")."""
    calls, tokens, user = _keys(user_key)
    spent_tokens = int(client.get(tokens) or 0)  # type: ignore[arg-type]
    if settings.ai_daily_tokens and spent_tokens >= settings.ai_daily_tokens:
        return "global"
    if user is not None:
        used = int(client.incr(user))  # type: ignore[arg-type]
        client.expire(user, DAY_S)
        if settings.ai_user_daily_calls and used > settings.ai_user_daily_calls:
            return "user"
    used_global = int(client.incr(calls))  # type: ignore[arg-type]
    client.expire(calls, DAY_S)
    if settings.ai_daily_calls and used_global > settings.ai_daily_calls:
        return "global"
    return None


def add_tokens(client: redis.Redis, count: int) -> None:
    _, tokens, _ = _keys(None)
    client.incrby(tokens, count)
    client.expire(tokens, DAY_S)


def first_exhaustion_today(client: redis.Redis) -> bool:
    """True once a day: the global budget's alert is said once, not per refused call."""
    return bool(client.set(f"ai:budget:{_day()}:alerted", 1, nx=True, ex=DAY_S))
