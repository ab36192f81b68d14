"""Messages of the live WebSocket and its close codes (see docs/api.md, "Live updates")."""

from __future__ import annotations

from enum import IntEnum

from pydantic import BaseModel, ConfigDict, Field

from pipeline.live.channel import Topic

# The scope each topic needs.
TOPIC_SCOPES = {
    Topic.EVENTS: "events:read",
    Topic.BROADCASTS: "broadcasts:read",
    Topic.FEEDBACK: "feedback:read",
    Topic.ALERTS: "alerts:read",
    Topic.ORDERS: "orders:read",
}


class CloseCode(IntEnum):
    BAD_REQUEST = 4400  # the first message was not a valid `subscribe`
    UNAUTHENTICATED = 4401  # no token, or an invalid/expired/revoked one
    FORBIDDEN = 4403  # a topic the token's scopes do not cover
    SLOW_CONSUMER = 4008  # the client did not read fast enough; reconnect with the cursor


class Subscribe(BaseModel):
    """The first message a client sends."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^subscribe$")
    token: str | None = Field(None, description="Access token or API key (or ?token= in the URL)")
    topics: list[Topic] = Field(min_length=1)
    sources: list[str] = Field(default_factory=list, max_length=50)
    statuses: list[str] = Field(default_factory=list, max_length=10)
    cursor: int | None = Field(
        None, ge=0, description="Last event cursor seen: what came after it is sent first"
    )
