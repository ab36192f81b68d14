"""Full-text retrieval with PostgreSQL: the FAQ and the active catalogue ranked with
`ts_rank_cd` in the question's language configuration (served by the GIN expression
indexes of schema.knowledge), plus the asking buyer's own orders — only theirs.

Words are OR-ed (`websearch_to_tsquery` with "or"): a buyer's question rarely repeats an
FAQ entry word for word, and the cover-density rank puts the entries that share most
first. Scores are normalised to 0..1 (rank / (rank + 1)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pipeline.knowledge import repository
from pipeline.knowledge.repository import CONFIGS
from pipeline.notifications.announce import format_amount
from pipeline.shop.catalog import product_text
from pipeline.shop.service import user_orders
from schema.users import User

MAX_WORDS = 32
ORDER_ID = re.compile(r"\bo-[0-9a-f]{12}\b")
ORDER_WORDS = re.compile(
    r"(?i)\b(orders?|status|paid|payment|receipts?|refund\w*|delivery|deliver\w*|"
    r"заказ\w*|статус\w*|оплат\w*|оплачен\w*|чек\w*|возврат\w*|доставк\w*|плат[её]ж\w*)\b"
)


@dataclass(frozen=True)
class Document:
    """One retrieved piece the assistant may cite: `ref` is how it is cited."""

    ref: str
    kind: str  # faq, product, order
    title: str
    body: str
    score: float


def language_of(message: str, fallback: str) -> str:
    """ru when the message is mostly Cyrillic, en when mostly Latin, else the fallback.
    Order numbers (Latin hex) do not count."""
    message = ORDER_ID.sub(" ", message)
    cyrillic = len(re.findall(r"[а-яё]", message, re.IGNORECASE))
    latin = len(re.findall(r"[a-z]", message, re.IGNORECASE))
    if cyrillic == latin:
        return fallback if fallback in CONFIGS else "en"
    return "ru" if cyrillic > latin else "en"


def _query(message: str) -> str:
    words = re.findall(r"\w+", message.lower())[:MAX_WORDS]
    return " or ".join(w for w in words if w != "or")


def search_faq(session: Session, message: str, lang: str, limit: int = 3) -> list[Document]:
    rows = repository.faq_matches(session, _query(message), lang, limit)
    return [Document(f"faq:{r.id}", "faq", r.question, r.answer, r.score) for r in rows]


def search_products(session: Session, message: str, lang: str, limit: int = 3) -> list[Document]:
    found = []
    for r in repository.product_matches(session, _query(message), lang, limit):
        price = format_amount(r.price_minor, r.currency)
        if r.stars_price:
            price += f" / {r.stars_price} Stars"
        body = f"{r.title}: {r.description} Price: {price}".strip()
        found.append(Document(f"product:{r.id}", "product", r.title, body, r.score))
    return found


def asks_about_orders(message: str) -> bool:
    return bool(ORDER_ID.search(message) or ORDER_WORDS.search(message))


def own_orders(session: Session, user: User, message: str, limit: int = 3) -> list[Document]:
    """The buyer's latest orders (an order they name first). Another buyer's order id in
    the message finds nothing: the query is by this buyer's id alone."""
    named = set(ORDER_ID.findall(message))
    lines = user_orders(session, user, limit=20)
    lines.sort(key=lambda line: line.order.public_id not in named)
    found = []
    for line in lines[:limit]:
        order = line.order
        title = product_text(line.product, user.language)["title"]
        body = (
            f"Order {order.public_id}: {title} x{order.quantity}, "
            f"{format_amount(order.amount_minor, order.currency)}, status: {order.status}, "
            f"placed {order.created_at:%Y-%m-%d}"
        )
        if line.receipt_urls:
            body += ", receipt: " + " ".join(line.receipt_urls)
        found.append(Document(f"order:{order.public_id}", "order", order.public_id, body, 1.0))
    return found


def retrieve(session: Session, user: User, message: str, lang: str) -> list[Document]:
    """Everything the assistant may use for this question, best first per kind."""
    documents = search_faq(session, message, lang) + search_products(session, message, lang)
    if asks_about_orders(message):
        documents += own_orders(session, user, message)
    return documents
