"""SendNotification reaches the (fake) Bot API through the outbox sender; health checking
and reflection answer like any gRPC server's."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
import redis
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from sqlalchemy.orm import Session, sessionmaker

from grpc_api.v1 import pipeline_pb2 as pb
from pipeline.deps import Deps
from pipeline.i18n import text
from pipeline.messaging.queues import NOTIFY, TASK_SEND_NOTIFICATIONS
from pipeline.notifications.sender import send_due
from pipeline.settings import Settings, get_settings
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from schema.users import User
from scripts.fakes.bot_api import FakeBotApiThread
from tests.grpc_api.support import ServerThread, key_metadata, stub
from tests.support.broker import purge, take_tasks
from tests.support.services import TestServices

SERVICE = "pipeline.v1.PipelineService"


@pytest.fixture
def bot_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotApiThread]:
    fake = FakeBotApiThread()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:grpc-notify-token")
    monkeypatch.setenv("TELEGRAM_API_BASE", fake.url)
    get_settings.cache_clear()
    yield fake
    fake.stop()


def test_send_notification_reaches_the_bot_api_in_the_users_language(
    bot_api: FakeBotApiThread,
    server: ServerThread,
    api_key: Callable[..., str],
    db: sessionmaker[Session],
    services: TestServices,
    grpc_settings: Settings,
) -> None:
    with db() as session:
        session.add_all(
            [
                User(telegram_id=501, chat_id=501, language="ru"),
                User(telegram_id=502, chat_id=502, is_active=False),
            ]
        )
        session.commit()
    key = key_metadata(api_key("notifications:write"))
    params = {"order": "A-7", "url": "https://pay.example/7"}
    broker_url = grpc_settings.broker_url or ""
    purge(broker_url, NOTIFY)
    with stub(server.address) as client:
        keyed = client.SendNotification(
            pb.SendNotificationRequest(
                telegram_id=501, text_key="pay_link_ready", params=params, dedup_key="pay-7"
            ),
            metadata=key,
            timeout=10,
        )
        assert keyed.queued and keyed.notification_id
        again = client.SendNotification(
            pb.SendNotificationRequest(
                telegram_id=501, text_key="pay_link_ready", params=params, dedup_key="pay-7"
            ),
            metadata=key,
            timeout=10,
        )
        assert not again.queued  # the same dedup key: not queued twice
        # The sender was nudged once, through the runtime's task port (beat sweeps too).
        assert take_tasks(broker_url, NOTIFY) == [(TASK_SEND_NOTIFICATIONS, [])]
        client.SendNotification(
            pb.SendNotificationRequest(telegram_id=501, text="Your parcel left the warehouse"),
            metadata=key,
            timeout=10,
        )
        refusals = {
            grpc.StatusCode.NOT_FOUND: pb.SendNotificationRequest(telegram_id=999, text="hi"),
            grpc.StatusCode.FAILED_PRECONDITION: pb.SendNotificationRequest(
                telegram_id=502, text="hi"
            ),
            grpc.StatusCode.INVALID_ARGUMENT: pb.SendNotificationRequest(
                telegram_id=501, text_key="pay_link_ready"
            ),
        }
        for code, request in refusals.items():
            with pytest.raises(grpc.RpcError) as caught:
                client.SendNotification(request, metadata=key, timeout=10)
            assert caught.value.code() == code
        with pytest.raises(grpc.RpcError) as caught:
            client.SendNotification(
                pb.SendNotificationRequest(telegram_id=501, text="hi"),
                metadata=key_metadata(api_key("events:write")),
                timeout=10,
            )
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED

    limiter = RateLimiter(
        redis.Redis.from_url(services.redis_client_url), f"grpc-notify{time.time()}:"
    )
    deadline = time.monotonic() + 15  # one message a second per chat
    while len(bot_api.sent()) < 2 and time.monotonic() < deadline:
        send_due(
            db, BotApi(get_settings()), limiter, budget_s=5, deps=Deps.build(redis=limiter.redis)
        )
        time.sleep(0.2)
    sent = [(int(m["chat_id"]), m["text"]) for m in bot_api.sent()]
    assert sorted(sent) == sorted(
        [(501, text("ru", "pay_link_ready", **params)), (501, "Your parcel left the warehouse")]
    )


def test_health_and_reflection_answer(server: ServerThread) -> None:
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as caught:
            health.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

        # What `grpcurl list` and `grpcurl describe` do, through the reflection service.
        reflected = ProtoReflectionDescriptorDatabase(channel)
        assert set(reflected.get_services()) >= {
            SERVICE,
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
        }
        described = reflected.FindFileContainingSymbol(SERVICE)
        assert described.package == "pipeline.v1"
        assert {m.name for m in described.service[0].method} >= {"SubmitEvents", "WatchEvents"}
