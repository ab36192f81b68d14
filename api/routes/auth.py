"""Login by e-mail code, token refresh, logout, and the caller's own sessions."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response, status
from loguru import logger

from api.auth.login import issue_tokens, log_in, login_code_key
from api.auth.principal import Principal
from api.deps import (
    LoginRateLimited,
    PrincipalDep,
    RuntimeDep,
    SessionDep,
    UnitOfWorkDep,
)
from api.errors import ProblemError, error_responses, problem_response
from api.models.auth import (
    Accepted,
    CodeRequest,
    CodeVerify,
    Me,
    RefreshRequest,
    SessionOut,
    TokenPair,
)
from api.models.common import IdPath
from api.runtime import ApiRuntime
from pipeline.auth import codes, sessions, staff
from pipeline.auth.sessions import RefreshFailure
from pipeline.mail import Mail
from schema.staff import StaffSession

router = APIRouter(prefix="/auth", tags=["auth"])
CODE_SENT = "if this address may log in, a code is on its way"


def _staff_session(principal: Principal) -> int:
    if principal.kind != "staff" or principal.session_id is None:
        raise ProblemError(403, "Not a login session", "API keys have no session; revoke the key")
    return principal.session_id


@router.post(
    "/code",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[LoginRateLimited],
    responses=error_responses(422, 429),
    summary="Send a login code by e-mail",
)
def request_code(
    body: CodeRequest, uow: UnitOfWorkDep, runtime: RuntimeDep, background: BackgroundTasks
) -> Accepted:
    """Always 202, whether or not the address has an account, so the answer tells nobody
    which addresses exist. The code is valid for 10 minutes and 5 tries (by default)."""
    email = staff.normalize_email(body.email)
    runtime.limiter.hit(runtime.limiter.limits.login_email, "code-email", email)
    settings = runtime.settings
    # A code is stored for any address, so both cases do the same database work and take
    # the same time; it is sent only where a login may follow.
    code = codes.issue_code(
        uow.session, email, key=login_code_key(runtime), ttl_s=settings.login_code_ttl_s
    )
    if codes.may_log_in(uow.session, email, settings.staff_signup_domains):
        minutes = settings.login_code_ttl_s // 60
        mail = Mail(
            to=email,
            subject="Your login code",
            text=f"Your login code: {code}\n\nIt is valid for {minutes} minutes. "
            "If you did not ask for it, ignore this mail.",
        )
        # Sent after the answer: the time of the answer does not tell whether mail went out.
        uow.after_commit(lambda: background.add_task(send_mail, runtime, mail))
    return Accepted(detail=CODE_SENT)


async def send_mail(runtime: ApiRuntime, mail: Mail) -> None:
    """Send after the answer; a failure is logged (with the request id), since the caller
    was already told 202 and may ask for a new code."""
    try:
        await runtime.mailer.send(mail)
    except Exception as exc:
        logger.opt(exception=exc).error("login code mail to {} not sent", mail.to)


@router.post(
    "/code/verify",
    dependencies=[LoginRateLimited],
    responses=error_responses(401, 422, 429),
    summary="Exchange an e-mail code for tokens",
)
def verify_code(
    body: CodeVerify, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenPair:
    settings = runtime.settings
    ok = codes.check_code(
        session,
        body.email,
        body.code,
        key=login_code_key(runtime),
        max_attempts=settings.login_code_attempts,
    )
    account = (
        staff.staff_for_login(
            session,
            body.email,
            signup_domains=settings.staff_signup_domains,
            signup_role=settings.staff_signup_role,
        )
        if ok
        else None
    )
    if account is None:
        # Answered, not raised: the counted attempt must be committed.
        error = ProblemError(401, "Invalid code", "the code is wrong, expired or used up")
        return problem_response(request, error)  # type: ignore[return-value]
    return log_in(runtime, session, account, "code", request)


@router.post(
    "/refresh",
    dependencies=[LoginRateLimited],
    responses=error_responses(401, 422, 429),
    summary="Exchange a refresh token for new tokens",
)
def refresh(
    body: RefreshRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TokenPair:
    """The refresh token is single use. Presenting one that was already exchanged revokes
    its whole session: whoever copied it is logged out along with its owner."""
    result = sessions.rotate(session, body.refresh_token)
    if isinstance(result, RefreshFailure):
        detail = (
            "this refresh token was already used: the session is revoked, log in again"
            if result is RefreshFailure.REUSED
            else "the refresh token is invalid, expired or revoked"
        )
        return problem_response(request, ProblemError(401, "Unauthorized", detail))  # type: ignore[return-value]
    return issue_tokens(runtime, result)


@router.post(
    "/logout",
    status_code=204,
    responses=error_responses(401, 403),
    summary="End this login session",
)
def logout(principal: PrincipalDep, session: SessionDep) -> Response:
    login = session.get(StaffSession, _staff_session(principal))
    if login is not None:
        sessions.revoke_session(session, login, "logout")
    return Response(status_code=204)


@router.post(
    "/logout-all",
    status_code=204,
    responses=error_responses(401, 403),
    summary="End every login session of this account",
)
def logout_everywhere(principal: PrincipalDep, session: SessionDep) -> Response:
    _staff_session(principal)
    staff.revoke_all_sessions(session, principal.id, "logout_all")
    return Response(status_code=204)


@router.get("/me", responses=error_responses(401), summary="Who is calling")
def me(principal: PrincipalDep) -> Me:
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role,  # type: ignore[arg-type]
        scopes=sorted(principal.scopes),
    )


@router.get(
    "/sessions", responses=error_responses(401, 403), summary="This account's active sessions"
)
def my_sessions(principal: PrincipalDep, session: SessionDep) -> list[SessionOut]:
    current = _staff_session(principal)
    return [
        SessionOut.model_validate(row).model_copy(update={"current": row.id == current})
        for row in sessions.list_sessions(session, principal.id)
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    responses=error_responses(401, 403, 404),
    summary="End one of this account's sessions",
)
def end_session(session_id: IdPath, principal: PrincipalDep, session: SessionDep) -> Response:
    _staff_session(principal)
    login = session.get(StaffSession, session_id)
    if login is None or login.staff_id != principal.id or login.revoked_at is not None:
        raise ProblemError(404, "Not Found", f"no active session {session_id} of yours")
    sessions.revoke_session(session, login, "logout")
    return Response(status_code=204)
