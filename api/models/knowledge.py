"""Bodies of the knowledge (FAQ) routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Language = Literal["ru", "en"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class KnowledgeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Text = Field(examples=["How long does delivery take?"])
    answer: Text = Field(examples=["Delivery takes 3 to 5 business days."])
    language: Language
    tags: list[Tag] = Field(default_factory=list, max_length=20, examples=[["delivery"]])
    active: bool = True


class KnowledgeChange(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    question: Text | None = None
    answer: Text | None = None
    language: Language | None = None
    tags: list[Tag] | None = Field(None, max_length=20)
    active: bool | None = None


class KnowledgeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    question: str
    answer: str
    language: str
    tags: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class KnowledgeHit(BaseModel):
    """What the assistant would retrieve for a question, best first."""

    ref: str = Field(examples=["faq:12"])
    kind: str = Field(examples=["faq"])
    title: str
    body: str
    score: float = Field(description="Rank 0..1; AI_FAQ_MIN_SCORE applies without a provider.")
