"""The deterministic triage: keyword stems per language and topic, first match by topic
order (a complaint about a payment is a complaint). Works with no AI provider at all."""

from __future__ import annotations

import re

# First match wins: a complaint about a payment is a complaint, a broken pay button a bug.
TOPICS = ("complaint", "bug", "payment", "delivery", "product_question", "other")

# Refunds are payments for triage, but the assistant hands them to a person.
_REFUND = {
    "ru": ("возврат", "верните", "вернуть деньги", "вернуть оплату", "отмените заказ"),
    "en": ("refund", "money back", "reimburse", "chargeback", "cancel my order"),
}
_PERSON = {
    # Not "поддержка"/"support": questions about the support hours are FAQ questions.
    "ru": ("оператор", "человек", "менеджер", "живой", "сотрудник"),
    "en": ("operator", "human", "person", "manager", "real agent", "support agent", "staff"),
}

_STEMS: dict[str, dict[str, tuple[str, ...]]] = {
    "complaint": {
        "ru": (
            "жалоб", "ужасн", "безобраз", "обман", "мошенни", "возмущ", "отвратит",
            "недоволен", "недовольна", "хамств", "плохо обслуж", "кошмар",
        ),
        "en": (
            "complain", "terrible", "awful", "scam", "fraud", "disgust", "unacceptable",
            "rude", "worst", "outrage", "horrible", "disappointed",
        ),
    },
    "payment": {
        "ru": _REFUND["ru"]
        + ("оплат", "платеж", "платёж", "карт", "списал", "деньги", "счёт", "счет", "чек"),
        "en": _REFUND["en"]
        + ("pay", "charge", "card", "invoice", "receipt", "billing", "stars", "money"),
    },
    "delivery": {
        "ru": ("где мой заказ", "где заказ", "доставк", "достав", "курьер", "посылк", "трек",
               "не пришл", "не получил", "привез"),
        "en": ("where is my order", "deliver", "shipping", "shipped", "ship to", "courier",
               "parcel", "tracking", "arrive", "package"),
    },
    "bug": {
        "ru": ("ошибк", "не работает", "бот завис", "сломал", "баг", "не открыва", "глюк"),
        "en": ("error", "bug", "not working", "doesn't work", "broken", "crash", "stuck", "glitch"),
    },
    "product_question": {
        "ru": ("товар", "размер", "есть ли", "в наличии", "сколько стоит", "цена", "подходит",
               "характеристик", "как пользоваться", "гарантия"),
        "en": ("product", "size", "in stock", "available", "how much", "price", "does it",
               "compatible", "warranty", "how to use"),
    },
}  # fmt: skip

_URGENT = {
    "ru": ("срочно", "немедленно", "сейчас же", "до сих пор", "уже неделю", "полиц", "суд",
           "роспотребнадзор", "!!!"),
    "en": ("urgent", "asap", "immediately", "right now", "still no", "for a week", "lawyer",
           "police", "court", "!!!"),
}  # fmt: skip
_NEGATIVE = {
    "ru": ("плохо", "ужасн", "недоволен", "недовольна", "обман", "разочаров", "злой", "бесит",
           "не работает", "не пришл", "жалоб", "верните"),
    "en": ("bad", "terrible", "awful", "angry", "disappointed", "scam", "not working",
           "never arrived", "refund", "worst", "hate"),
}  # fmt: skip
_POSITIVE = {
    "ru": ("спасибо", "отлично", "супер", "класс", "благодар", "понравил", "рад"),
    "en": ("thanks", "thank you", "great", "awesome", "love", "excellent", "happy"),
}


def _has(message: str, stems: tuple[str, ...]) -> bool:
    return any(stem in message for stem in stems)


def topic_of(message: str, lang: str) -> str:
    lowered = message.lower()
    for topic in TOPICS[:-1]:
        if _has(lowered, _STEMS[topic][lang]) or _has(lowered, _STEMS[topic]["en"]):
            return topic
    return "other"


_SMALL_TALK = frozenset(
    ("спасибо", "большое", "благодарю", "привет", "здравствуйте", "добрый", "день", "ок",
     "окей", "хорошо", "понятно", "ясно", "thanks", "thank", "you", "very", "much", "hi",
     "hello", "ok", "okay", "great", "good", "fine", "got", "it", "cheers")
)  # fmt: skip


def is_small_talk(message: str) -> bool:
    """Thanks and greetings: answered politely, never handed to the operators."""
    words = re.findall(r"\w+", message.lower())
    return 0 < len(words) <= 4 and all(w in _SMALL_TALK for w in words)


def human_topics(message: str, lang: str) -> set[str]:
    """Topics the assistant may be configured to leave to people (refund, complaint, ...)."""
    lowered = message.lower()
    found = {topic_of(message, lang)}
    if _has(lowered, _REFUND[lang]) or _has(lowered, _REFUND["en"]):
        found.add("refund")
    return found


def asks_for_person(message: str, lang: str) -> bool:
    lowered = message.lower()
    return _has(lowered, _PERSON[lang]) or _has(lowered, _PERSON["en"])


def sentiment_of(message: str, lang: str) -> str:
    lowered = message.lower()
    if _has(lowered, _NEGATIVE[lang]):
        return "negative"
    if _has(lowered, _POSITIVE[lang]):
        return "positive"
    return "neutral"


def urgency_of(message: str, lang: str, topic: str) -> str:
    lowered = message.lower()
    shouting = len(re.findall(r"[A-ZА-ЯЁ]", message)) > 12 and message.upper() == message
    if _has(lowered, _URGENT[lang]) or shouting:
        return "high"
    if topic in ("refund", "complaint", "payment", "bug"):
        return "normal"
    return "low"
