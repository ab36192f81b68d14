"""Evaluate retrieval and fallback triage on the labelled ru/en set in tests/fixtures/ai.

Retrieval: each question's best FAQ entry against the labelled one (hit@1, hit@3), and
what a buyer gets with no AI provider at AI_FAQ_MIN_SCORE (the right answer, a wrong
answer, or a hand-off; questions labelled `null` should be handed off). Triage: the
keyword fallback's topic and urgency against the labels. Uses TEST_DATABASE_URL when
given, else embedded servers. Run: scripts/eval_ai [--min-score 0.2].
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from pipeline.assistant.service import assist
from pipeline.knowledge import repository, store
from pipeline.knowledge.retrieval import search_faq
from pipeline.messaging.urls import redis_py_url
from pipeline.migrate import upgrade
from pipeline.settings import Settings, get_settings
from pipeline.triage.labels import by_keywords
from schema.session import make_engine, make_session_factory
from schema.users import User
from tests.support.services import create_database, drop_database, start_services

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ai"


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def evaluate_retrieval(database_url: str, redis_url: str, min_score: float) -> None:
    """Retrieval alone, and the whole no-provider assistant (`assist`): its reply is the
    labelled entry's answer, another answer, or a hand-off."""
    engine = make_engine(database_url)
    client = redis.Redis.from_url(redis_url)
    settings = Settings(ai_base_url="", ai_faq_min_score=min_score)
    with make_session_factory(engine)() as session:
        store.import_entries(session, store.read_file(FIXTURES / "faq.json"))
        answers = {e.question: e.answer for e in repository.entries(session)}
        buyer = User(telegram_id=1, chat_id=1, language="en")
        session.add(buyer)
        session.commit()
        stats: Counter[str] = Counter()
        for item in _load("questions.json"):
            lang, expected = item["language"], item["expected"]
            found = search_faq(session, item["text"], lang, limit=3)
            titles = [d.title for d in found]
            reply = assist(session, client, buyer, item["text"], settings)
            answered = reply.handoff is None
            key = f"{lang}:"
            if expected is None:
                stats[key + "unanswerable"] += 1
                stats[key + ("wrong" if answered else "handed_off_ok")] += 1
                continue
            stats[key + "answerable"] += 1
            stats[key + "hit1"] += bool(titles) and titles[0] == expected
            stats[key + "hit3"] += expected in titles
            if answered:
                stats[key + ("right" if reply.text == answers[expected] else "wrong")] += 1
            else:
                stats[key + "missed"] += 1
    client.close()
    engine.dispose()
    print(f"Retrieval (FAQ, PostgreSQL full-text search; no-AI threshold {min_score:.2f})")
    for lang in ("ru", "en"):
        k = f"{lang}:"
        answerable, unanswerable = stats[k + "answerable"], stats[k + "unanswerable"]
        print(
            f"  {lang}: hit@1 {_pct(stats[k + 'hit1'], answerable)}, "
            f"hit@3 {_pct(stats[k + 'hit3'], answerable)}; assistant without AI: right answer "
            f"{_pct(stats[k + 'right'], answerable)}, handed off {stats[k + 'missed']}, "
            f"wrong answer {stats[k + 'wrong']}, unanswerable handed off "
            f"{_pct(stats[k + 'handed_off_ok'], unanswerable)}"
        )


def evaluate_triage() -> None:
    stats: Counter[str] = Counter()
    misses = []
    for item in _load("feedback.json"):
        lang = item["language"]
        labels = by_keywords(item["text"], lang)
        stats[lang] += 1
        stats[lang + ":topic"] += labels.topic == item["topic"]
        stats[lang + ":urgency"] += labels.urgency == item["urgency"]
        stats[lang + ":language"] += labels.language == lang
        if labels.topic != item["topic"] or labels.urgency != item["urgency"]:
            misses.append(f"{item['text']!r}: {labels.topic}/{labels.urgency}")
    print("Fallback triage (keywords)")
    for lang in ("ru", "en"):
        total = stats[lang]
        print(
            f"  {lang}: topic {_pct(stats[lang + ':topic'], total)}, urgency "
            f"{_pct(stats[lang + ':urgency'], total)}, language "
            f"{_pct(stats[lang + ':language'], total)}"
        )
    for miss in misses:
        print(f"    miss {miss}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--min-score", type=float, default=None)
    args = parser.parse_args()
    min_score = args.min_score if args.min_score is not None else get_settings().ai_faq_min_score
    services = start_services()
    url = create_database(services.admin_database_url)
    try:
        upgrade(url)
        evaluate_retrieval(url, redis_py_url(services.redis_url), min_score)
        evaluate_triage()
    finally:
        drop_database(services.admin_database_url, url)
        for server in reversed(services.embedded):
            server.stop()


if __name__ == "__main__":
    main()
