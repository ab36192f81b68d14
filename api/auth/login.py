"""The end of every login, whatever proved the e-mail: a session with its tokens."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from api.deps import client_ip
from api.models.auth import TokenPair
from api.runtime import ApiRuntime
from pipeline.auth import sessions
from schema.staff import StaffUser


def login_code_key(runtime: ApiRuntime) -> str:
    """The key login codes are hashed with (the API's and the console's code forms)."""
    return runtime.signer.derive("login-code")


def issue_tokens(runtime: ApiRuntime, issued: sessions.Issued) -> TokenPair:
    access = runtime.signer.issue(issued.staff.id, issued.login.id)
    return TokenPair(
        access_token=access,
        expires_in=runtime.signer.ttl_s,
        refresh_token=issued.refresh_token,
        session_id=issued.login.id,
    )


def log_in(
    runtime: ApiRuntime,
    session: Session,
    staff: StaffUser,
    method: str,
    connection: HTTPConnection | None = None,
) -> TokenPair:
    issued = sessions.start_session(
        session,
        staff,
        method=method,
        ttl_s=runtime.settings.api_refresh_token_ttl_s,
        user_agent=connection.headers.get("user-agent") if connection else None,
        ip=client_ip(connection, runtime) if connection else None,
    )
    return issue_tokens(runtime, issued)
