"""Broadcast benchmark: 1,000 users against the fake Bot API (30 msg/s enforced).

Prints the rate achieved against the limit and the count of 429 answers. Uses
TEST_DATABASE_URL / TEST_REDIS_URL when given, else embedded servers.
"""

from __future__ import annotations

import argparse
import os
import time

from sqlalchemy import insert

from pipeline.deps import Deps
from pipeline.messaging.urls import redis_py_url
from pipeline.migrate import upgrade
from pipeline.notifications import broadcast
from pipeline.settings import get_settings
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from pipeline.unit_of_work import unit_of_work
from schema import User
from schema.session import make_engine, make_session_factory
from scripts.fakes.bot_api import FakeBotApiThread
from tests.support.services import create_database, drop_database, start_services


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()
    services = start_services()
    url = create_database(services.admin_database_url)
    fake = FakeBotApiThread()
    try:
        upgrade(url)
        os.environ.update(
            DATABASE_URL=url,
            REDIS_URL=redis_py_url(services.redis_url),
            TELEGRAM_BOT_TOKEN="123:bench",
            TELEGRAM_API_BASE=fake.url,
        )
        get_settings.cache_clear()
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        limiter = RateLimiter(
            __import__("redis").Redis.from_url(redis_py_url(services.redis_url)),
            f"bench{time.time()}:",
        )
        deps = Deps.build(redis=limiter.redis)  # a script: from the environment
        with unit_of_work(sessions, deps) as uow:
            rows = [{"telegram_id": 10_000 + i, "chat_id": 10_000 + i} for i in range(args.users)]
            uow.session.execute(insert(User), rows)
            item = broadcast.start(uow.session, "Benchmark broadcast", None)
        started = time.monotonic()
        progress = broadcast.run(sessions, item.id, BotApi(deps.settings), limiter, deps)
        elapsed = time.monotonic() - started
        limit = get_settings().telegram_global_rate
        sent = progress.sent
        print(f"users: {args.users}, sent: {sent}, elapsed: {elapsed:.1f} s")
        print(
            f"rate: {sent / elapsed:.2f} msg/s against the {limit:.0f}/s limit "
            f"({100 * sent / elapsed / limit:.1f}%)"
        )
        print(f"429 answers: {fake.state.limited}")
        engine.dispose()
    finally:
        fake.stop()
        drop_database(services.admin_database_url, url)
        for server in reversed(services.embedded):
            server.stop()


if __name__ == "__main__":
    main()
