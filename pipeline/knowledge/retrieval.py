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

from sqlalchemy import text
from sqlalchemy.orm import Session

from pipeline.notifications.announce import format_amount
from pipeline.shop.catalog import product_text
from pipeline.shop.service import user_orders
from schema.knowledge import KNOWLEDGE_VECTOR, PRODUCT_VECTOR
from schema.users import User

CONFIGS = {"ru": "russian", "en": "english"}
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
    config = CONFIGS[lang]
    vector = KNOWLEDGE_VECTOR.format(config=config)
    # The language literal (from CONFIGS, never the caller) lets the partial index apply.
    stmt = text(
        f"SELECT id, question, answer, ts_rank_cd({vector}, q, 32) AS score "
        f"FROM knowledge_entries, websearch_to_tsquery('{config}', :q) AS q "
        f"WHERE language = '{lang}' AND active AND {vector} @@ q "
        # Equal cover density (one shared word each): the rarer, denser match first.
        f"ORDER BY score DESC, ts_rank({vector}, q, 1) DESC, id LIMIT :limit"
    )
    rows = session.execute(stmt, {"q": _query(message), "limit": limit}).all()
    return [Document(f"faq:{r.id}", "faq", r.question, r.answer, float(r.score)) for r in rows]


def search_products(session: Session, message: str, lang: str, limit: int = 3) -> list[Document]:
    config = CONFIGS[lang]
    vector = PRODUCT_VECTOR.format(config=config, lang=lang)
    stmt = text(
        f"SELECT id, title_{lang} AS title, description_{lang} AS description, price_minor, "
        f"currency, stars_price, ts_rank_cd({vector}, q, 32) AS score "
        f"FROM products, websearch_to_tsquery('{config}', :q) AS q "
        f"WHERE is_active AND {vector} @@ q ORDER BY score DESC, id LIMIT :limit"
    )
    found = []
    for r in session.execute(stmt, {"q": _query(message), "limit": limit}).all():
        price = format_amount(r.price_minor, r.currency)
        if r.stars_price:
            price += f" / {r.stars_price} Stars"
        body = f"{r.title}: {r.description} Price: {price}".strip()
        found.append(Document(f"product:{r.id}", "product", r.title, body, float(r.score)))
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
