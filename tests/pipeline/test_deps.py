"""A process's Deps gives back the connections it opened when its runtime closes it."""

from __future__ import annotations

import redis

from pipeline.deps import Deps
from pipeline.settings import get_settings
from tests.support.services import TestServices


def test_closing_drops_the_redis_connections_and_a_later_use_reconnects(
    services: TestServices,
) -> None:
    deps = Deps(get_settings().model_copy(update={"redis_url": services.redis_url}))
    probe = redis.Redis.from_url(services.redis_url)

    def names() -> list[str]:
        return [str(c.get("name", "")) for c in probe.client_list()]

    first = deps.redis
    first.client_setname("deps-close-test")
    assert "deps-close-test" in names()
    deps.close()
    assert "deps-close-test" not in names()
    assert deps.redis is not first and deps.redis.ping()
    deps.close()
    deps.close()  # twice is harmless
    probe.close()
