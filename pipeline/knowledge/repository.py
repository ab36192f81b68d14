"""SQL for the knowledge the assistant answers from: FAQ entries, and the full-text
matches of the FAQ and the active catalogue. Functions take a session and never commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from schema.knowledge import KNOWLEDGE_VECTOR, PRODUCT_VECTOR, KnowledgeEntry

# Text-search configuration per language. Only these literals (and the language keys)
# are spliced into the SQL: never a caller's text, and literal so the partial index applies.
CONFIGS = {"ru": "russian", "en": "english"}


@dataclass(frozen=True, slots=True)
class FaqMatch:
    id: int
    question: str
    answer: str
    score: float  # ts_rank_cd, not normalised


@dataclass(frozen=True, slots=True)
class ProductMatch:
    id: int
    title: str
    description: str
    price_minor: int
    currency: str
    stars_price: int | None
    score: float  # ts_rank_cd, not normalised


def faq_matches(session: Session, query: str, lang: str, limit: int) -> list[FaqMatch]:
    """Active FAQ entries in `lang` matching the websearch `query`, best first."""
    config = CONFIGS[lang]
    vector = KNOWLEDGE_VECTOR.format(config=config)
    stmt = text(
        f"SELECT id, question, answer, ts_rank_cd({vector}, q, 32) AS score "
        f"FROM knowledge_entries, websearch_to_tsquery('{config}', :q) AS q "
        f"WHERE language = '{lang}' AND active AND {vector} @@ q "
        # Equal cover density (one shared word each): the rarer, denser match first.
        f"ORDER BY score DESC, ts_rank({vector}, q, 1) DESC, id LIMIT :limit"
    )
    rows = session.execute(stmt, {"q": query, "limit": limit}).all()
    return [FaqMatch(r.id, r.question, r.answer, float(r.score)) for r in rows]


def product_matches(session: Session, query: str, lang: str, limit: int) -> list[ProductMatch]:
    """Active products whose `lang` title and description match the websearch `query`,
    best first."""
    config = CONFIGS[lang]
    vector = PRODUCT_VECTOR.format(config=config, lang=lang)
    stmt = text(
        f"SELECT id, title_{lang} AS title, description_{lang} AS description, price_minor, "
        f"currency, stars_price, ts_rank_cd({vector}, q, 32) AS score "
        f"FROM products, websearch_to_tsquery('{config}', :q) AS q "
        f"WHERE is_active AND {vector} @@ q ORDER BY score DESC, id LIMIT :limit"
    )
    rows = session.execute(stmt, {"q": query, "limit": limit}).all()
    return [
        ProductMatch(
            r.id, r.title, r.description, r.price_minor, r.currency, r.stars_price, float(r.score)
        )
        for r in rows
    ]


def entries(
    session: Session, language: str | None = None, active: bool | None = None
) -> list[KnowledgeEntry]:
    """FAQ entries by id, of one language and activity when given."""
    stmt = select(KnowledgeEntry).order_by(KnowledgeEntry.id)
    if language is not None:
        stmt = stmt.where(KnowledgeEntry.language == language)
    if active is not None:
        stmt = stmt.where(KnowledgeEntry.active.is_(active))
    return list(session.execute(stmt).scalars())


def entry_for_question(session: Session, language: str, question: str) -> KnowledgeEntry | None:
    """The entry with exactly this question in this language."""
    return session.execute(
        select(KnowledgeEntry).where(
            KnowledgeEntry.language == language,
            KnowledgeEntry.question == question,
        )
    ).scalar_one_or_none()
