"""The OpenAI-compatible client against respx: structured answers, retries on 429/5xx and
timeouts, malformed output, budgets, and nothing sent without AI_BASE_URL."""

from __future__ import annotations

import json

import httpx
import pytest
import redis
import respx
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.ai.client import AiUnavailable, complete
from pipeline.settings import Settings
from schema import AiCall, Alert
from tests.pipeline.ai.conftest import AI_URL, ai_settings

URL = f"{AI_URL}/chat/completions"


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str
    confident: bool


def ok(content: object, prompt: int = 12, completion: int = 5) -> httpx.Response:
    text = content if isinstance(content, str) else json.dumps(content)
    return httpx.Response(
        200,
        json={
            "choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
        },
    )


def call(session: Session, client: redis.Redis, settings: Settings, user_key: str = "801") -> Out:
    return complete(
        session,
        client,
        purpose="assist",
        system="rules",
        user="<buyer_message>hi</buyer_message>",
        output=Out,
        user_key=user_key,
        settings=settings,
    )


def calls(session: Session) -> list[tuple[str, int, int, int]]:
    rows = session.execute(select(AiCall).order_by(AiCall.id)).scalars()
    return [(r.outcome, r.attempts, r.tokens_in, r.tokens_out) for r in rows]


@respx.mock
def test_a_structured_answer_is_parsed_and_recorded(
    db: sessionmaker[Session], rclient: redis.Redis
) -> None:
    route = respx.post(URL).mock(return_value=ok({"answer": "3-5 days", "confident": True}))
    with db() as session:
        out = call(session, rclient, ai_settings())
        assert out == Out(answer="3-5 days", confident=True)
        assert calls(session) == [("ok", 1, 12, 5)]
    sent = json.loads(route.calls[0].request.content)
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test"
    assert sent["model"] == "test-model"
    schema = sent["response_format"]["json_schema"]
    assert schema["strict"] is True and schema["schema"]["additionalProperties"] is False
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


@respx.mock
def test_429_and_5xx_are_retried_then_answered(
    db: sessionmaker[Session], rclient: redis.Redis
) -> None:
    respx.post(URL).mock(
        side_effect=[
            httpx.Response(429),
            httpx.Response(503),
            ok({"answer": "yes", "confident": True}),
        ]
    )
    with db() as session:
        assert call(session, rclient, ai_settings()).answer == "yes"
        assert calls(session) == [("ok", 3, 12, 5)]


@respx.mock
def test_persistent_server_errors_give_up_after_the_attempts(
    db: sessionmaker[Session], rclient: redis.Redis
) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(500))
    with db() as session, pytest.raises(AiUnavailable) as failed:
        call(session, rclient, ai_settings(ai_max_attempts=2))
    assert failed.value.outcome == "server_error" and route.call_count == 2


@respx.mock
def test_timeouts_are_retried_and_recorded(db: sessionmaker[Session], rclient: redis.Redis) -> None:
    route = respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with db() as session:
        with pytest.raises(AiUnavailable) as failed:
            call(session, rclient, ai_settings(ai_max_attempts=3))
        assert failed.value.outcome == "timeout" and route.call_count == 3
        assert calls(session) == [("timeout", 3, 0, 0)]


@respx.mock
def test_a_client_error_is_not_retried(db: sessionmaker[Session], rclient: redis.Redis) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(401))
    with db() as session, pytest.raises(AiUnavailable) as failed:
        call(session, rclient, ai_settings())
    assert failed.value.outcome == "http_error" and route.call_count == 1


@pytest.mark.parametrize(
    "content",
    [
        "not json at all",
        json.dumps({"answer": "x"}),
        json.dumps(["a"]),
        json.dumps({"answer": "x", "confident": True, "extra": "field"}),
    ],
)
@respx.mock
def test_malformed_output_is_refused(
    db: sessionmaker[Session], rclient: redis.Redis, content: str
) -> None:
    respx.post(URL).mock(return_value=ok(content))
    with db() as session:
        with pytest.raises(AiUnavailable) as failed:
            call(session, rclient, ai_settings())
        assert failed.value.outcome == "malformed"
        assert calls(session) == [("malformed", 1, 12, 5)]


@respx.mock
def test_nothing_is_sent_without_a_base_url(
    db: sessionmaker[Session], rclient: redis.Redis
) -> None:
    route = respx.post(URL).mock(return_value=ok({"answer": "x", "confident": True}))
    with db() as session, pytest.raises(AiUnavailable) as failed:
        call(session, rclient, ai_settings(ai_base_url=""))
    assert failed.value.outcome == "disabled" and route.call_count == 0


@respx.mock
def test_the_per_user_budget_stops_that_user_only(
    db: sessionmaker[Session], rclient: redis.Redis
) -> None:
    route = respx.post(URL).mock(return_value=ok({"answer": "x", "confident": True}))
    settings = ai_settings(ai_user_daily_calls=2)
    with db() as session:
        call(session, rclient, settings)
        call(session, rclient, settings)
        with pytest.raises(AiUnavailable) as failed:
            call(session, rclient, settings)
        assert failed.value.outcome == "budget"
        call(session, rclient, settings, user_key="802")  # another buyer still gets answers
        assert route.call_count == 3
        assert session.execute(select(Alert)).scalars().all() == []  # a buyer's limit: no alert


@respx.mock
def test_the_global_budget_stops_calls_and_says_so_once(
    db: sessionmaker[Session], rclient: redis.Redis
) -> None:
    route = respx.post(URL).mock(
        return_value=ok({"answer": "x", "confident": True}, prompt=600, completion=400)
    )
    settings = ai_settings(ai_daily_tokens=1000)
    with db() as session:
        call(session, rclient, settings)
        for user_key in ("802", "803", "804"):
            with pytest.raises(AiUnavailable):
                call(session, rclient, settings, user_key=user_key)
        assert route.call_count == 1
        alerts = session.execute(select(Alert)).scalars().all()
        assert [(a.key, a.total) for a in alerts] == [("ai_budget", 1)]
        assert [c[0] for c in calls(session)] == ["ok", "budget", "budget", "budget"]


@respx.mock
def test_calls_are_exported_to_metrics(db: sessionmaker[Session], rclient: redis.Redis) -> None:
    from pipeline.metrics import exposition

    def sample(outcome: str) -> float:
        for line in exposition()[0].decode().splitlines():
            wanted = ("pipeline_ai_calls_total{", f'outcome="{outcome}"', 'purpose="assist"')
            if all(part in line for part in wanted):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before_ok, before_bad = sample("ok"), sample("malformed")
    respx.post(URL).mock(side_effect=[ok({"answer": "x", "confident": True}), ok("{")])
    with db() as session:
        call(session, rclient, ai_settings())
        with pytest.raises(AiUnavailable):
            call(session, rclient, ai_settings())
    assert (sample("ok"), sample("malformed")) == (before_ok + 1, before_bad + 1)
    text = exposition()[0].decode()
    assert "pipeline_ai_tokens_total" in text and "pipeline_ai_call_duration_seconds_count" in text
