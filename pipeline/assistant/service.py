"""Answer a buyer's free-text question, or decide to hand it to the operators.

Order of decisions: a buyer who asks for a person, or a human-only topic (refunds,
complaints), goes to the operators straight away; otherwise the shop's knowledge is
retrieved and the AI provider answers from it (when configured and within budget), or,
without one, the best FAQ entry above AI_FAQ_MIN_SCORE does. An AI answer that cites
nothing retrieved, quotes figures the documents do not contain, or echoes its rules is
not given to the buyer: it goes to the operators with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import redis
from sqlalchemy.orm import Session

from pipeline.ai.client import AiUnavailable, complete, configured
from pipeline.assistant import prompts
from pipeline.i18n import text
from pipeline.knowledge.retrieval import Document, language_of, retrieve
from pipeline.settings import Settings
from pipeline.triage import keywords
from schema.users import User

NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
LEAK_WINDOW = 40  # characters of the rules that may not appear in an answer


@dataclass
class Reply:
    """`text` goes to the buyer when `handoff` is None; otherwise the operators get the
    question, `draft` (what the assistant would have said) and `handoff` (why)."""

    language: str
    text: str = ""
    handoff: str | None = None
    draft: str | None = None
    source: str = "none"  # ai, faq, none
    cited: list[str] = field(default_factory=list)


def _human_only(settings: Settings) -> set[str]:
    return {t.strip() for t in settings.ai_human_topics.split(",") if t.strip()}


def _unsupported_figures(answer: str, question: str, documents: list[Document]) -> bool:
    """A number in the answer that neither the documents nor the question contain: an
    invented price, date or quantity."""
    known = question + "\n" + "\n".join(f"{d.title}\n{d.body}" for d in documents)
    known_numbers = {n.replace(",", ".") for n in NUMBER.findall(known)}
    return any(n.replace(",", ".") not in known_numbers for n in NUMBER.findall(answer))


def _leaks_rules(answer: str, lang: str) -> bool:
    rules = re.sub(r"\s+", " ", prompts.system_prompt(lang)).lower()
    flat = re.sub(r"\s+", " ", answer).lower()
    return any(rules[i : i + LEAK_WINDOW] in flat for i in range(0, len(rules) - LEAK_WINDOW, 10))


def _from_ai(
    out: prompts.AssistantAnswer, question: str, documents: list[Document], lang: str
) -> Reply:
    refs = {d.ref for d in documents}
    cited = [ref for ref in out.cited if ref in refs]
    draft = out.answer.strip()
    if _leaks_rules(draft, lang):
        return Reply(lang, handoff="the answer quoted the assistant's rules", source="ai")
    reason = None
    if out.needs_person:
        reason = "the model judged that a person should answer"
    elif not out.confident or not draft:
        reason = "the model was not confident"
    elif not cited:
        reason = "the answer cited nothing the shop knows"
    elif _unsupported_figures(draft, question, documents):
        reason = "the answer had figures not found in the shop's data"
    if reason is not None:
        return Reply(lang, handoff=reason, draft=draft or None, source="ai", cited=cited)
    return Reply(lang, text=draft, source="ai", cited=cited)


def _from_faq(documents: list[Document], lang: str, settings: Settings) -> Reply:
    faq = [d for d in documents if d.kind == "faq"]
    if faq and faq[0].score >= settings.ai_faq_min_score:
        return Reply(lang, text=faq[0].body, source="faq", cited=[faq[0].ref])
    best = f"{faq[0].score:.2f}" if faq else "none"
    return Reply(
        lang,
        handoff=f"no FAQ answer good enough (best score {best}, needed "
        f"{settings.ai_faq_min_score:.2f})",
    )


def assist(
    session: Session,
    client: redis.Redis,
    user: User,
    question: str,
    settings: Settings,
) -> Reply:
    lang = language_of(question, user.language)
    if keywords.is_small_talk(question):
        return Reply(lang, text=text(lang, "assistant_small_talk"), source="none")
    if keywords.asks_for_person(question, lang):
        return Reply(lang, handoff="the buyer asked for a person")
    human = sorted(keywords.human_topics(question, lang) & _human_only(settings))
    if human:
        return Reply(lang, handoff=f"human-only topic: {', '.join(human)}")
    documents = retrieve(session, user, question, lang)
    if configured(settings):
        try:
            out = complete(
                session,
                client,
                purpose="assist",
                system=prompts.system_prompt(lang),
                user=prompts.user_message(question, documents),
                output=prompts.AssistantAnswer,
                user_key=str(user.telegram_id),
                settings=settings,
            )
            return _from_ai(out, question, documents, lang)
        except AiUnavailable:
            pass  # the provider failed or the budget is spent: what works without it
    return _from_faq(documents, lang, settings)
