"""Bodies of the login, token, staff and API-key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
)

from pipeline.auth.permissions import ALL_SCOPES, check_scopes

Role = Literal["viewer", "operator", "admin"]


class CodeRequest(BaseModel):
    email: EmailStr = Field(examples=["ops@example.com"])


class CodeVerify(BaseModel):
    email: EmailStr = Field(examples=["ops@example.com"])
    code: str = Field(pattern=r"^\d{6}$", examples=["042917"])


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str = Field(examples=["if this address may log in, a code is on its way"])


class TokenPair(BaseModel):
    access_token: str = Field(description="JWT; send as `Authorization: Bearer …`.")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the scheme's name)
    expires_in: int = Field(description="Seconds the access token is valid.", examples=[900])
    refresh_token: str = Field(description="Single use: exchange at /auth/refresh.")
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
    email: EmailStr = Field(examples=["new.operator@example.com"])
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
    name: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
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
    prefix: str = Field(description="The key's visible part: `pk_<prefix>_…`.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The whole key. Shown this once; store it now.")


class OAuthProviderOut(BaseModel):
    name: str = Field(examples=["google"])
    title: str = Field(examples=["Google"])
    login_url: str = Field(examples=["/api/v1/auth/oauth/google/login"])
