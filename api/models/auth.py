"""Bodies of the login, token, staff and API-key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)

from pipeline.auth.permissions import ALL_SCOPES, check_scopes

Role = Literal["viewer", "operator", "admin"]
# No spaces or control characters (C0, DEL, C1): spelled out rather than `\s`, which
# means different things in Python's and in JSON Schema's regex dialects. (Lone
# surrogates, which PostgreSQL refuses, are not valid strings to pydantic already.)
EMAIL_PART = r"[^@ \x00-\x1f\x7f-\x9f]"
# Addresses are checked for shape only (one @, no spaces or control characters): the
# documented pattern is exactly what is enforced, and a mail server, not this API,
# decides deliverability. `admin@localhost` works on a developer's machine.
Email = Annotated[
    str,
    StringConstraints(max_length=320, pattern=rf"^{EMAIL_PART}+@{EMAIL_PART}+$"),
]


class CodeRequest(BaseModel):
    email: Email = Field(examples=["ops@example.com"])


class CodeVerify(BaseModel):
    email: Email = Field(examples=["ops@example.com"])
    code: str = Field(pattern=r"^[0-9]{6}$", examples=["042917"])


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str = Field(examples=["if this address may log in, a code is on its way"])


class TokenPair(BaseModel):
    access_token: str = Field(
        description="JWT; send as `Authorization: Bearer …`.", examples=["eyJhbGciOiJIUzI1NiJ9.…"]
    )
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the scheme's name)
    expires_in: int = Field(description="Seconds the access token is valid.", examples=[900])
    refresh_token: str = Field(
        description="Single use: exchange at /auth/refresh.", examples=["rt_Jq3…"]
    )
    session_id: int = Field(examples=[17])


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200, examples=["rt_…"])


class Me(BaseModel):
    kind: Literal["staff", "apikey"]
    id: int
    name: str = Field(examples=["ops@example.com"])
    role: Role | None
    scopes: list[str] = Field(examples=[["events:read", "events:write"]])


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    method: str = Field(examples=["code", "oauth:google"])
    user_agent: str | None
    ip: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool = False


class StaffCreate(BaseModel):
    email: Email = Field(examples=["new.operator@example.com"])
    role: Role = Field(examples=["operator"])


class StaffUpdate(BaseModel):
    role: Role | None = None
    active: bool | None = None


class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str = Field(examples=["ops@example.com"])
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class ApiKeyCreate(BaseModel):
    # Printable, with at least one character besides spaces (which are trimmed).
    name: Annotated[
        str,
        StringConstraints(
            max_length=100,
            pattern=r"^[^\x00-\x1f\x7f-\x9f]*[^ \x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
        ),
    ] = Field(examples=["grafana exporter"])
    scopes: list[str] = Field(
        min_length=1,
        examples=[["events:read", "stats:read"]],
        json_schema_extra={
            "items": {"type": "string", "enum": list[JsonValue](sorted(ALL_SCOPES))}
        },
    )

    @field_validator("scopes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        return sorted(check_scopes(value))


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(
        description="The key's visible part: `pk_<prefix>_…`.", examples=["3f9a1c07d2"]
    )
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(
        description="The whole key. Shown this once; store it now.",
        examples=["pk_3f9a1c07d2_Wc1…"],
    )


class OAuthProviderOut(BaseModel):
    name: str = Field(examples=["google"])
    title: str = Field(examples=["Google"])
    login_url: str = Field(examples=["/api/v1/auth/oauth/google/login"])
