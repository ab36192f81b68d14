"""`Authorization: tma <initData>`: the buyer, checked and mapped to the bot's user row.

initData may be a day old for reading but only an hour old for checkout and payment
(MINIAPP_READ_MAX_AGE_S, MINIAPP_PAY_MAX_AGE_S): an old initData leaked from a device
should not spend money.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from aiogram.utils.web_app import WebAppUser
from fastapi import Depends
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from api.deps import RuntimeDep, SessionDep, client_ip
from api.errors import ProblemError
from api.miniapp.initdata import InitDataError, verifier, verify
from api.runtime import ApiRuntime
from pipeline.deps import Deps
from pipeline.settings import Settings
from pipeline.shop.service import register_user
from schema.users import User

SCHEME = "tma"
CHALLENGE = {"WWW-Authenticate": f'{SCHEME} realm="miniapp"'}


@dataclass
class Buyer:
    user: User
    session: Session
    deps: Deps  # the API process's: its settings, provider settings and adapters

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def lang(self) -> str:
        return self.user.language


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(401, detail=detail, headers=CHALLENGE)


def telegram_user(runtime: ApiRuntime, raw: str, max_age_s: float) -> WebAppUser:
    check = verifier(runtime.settings)
    if check is None:  # nobody can be authenticated here: as for a wrong initData
        raise _unauthenticated("the Mini App is not set up (TELEGRAM_BOT_TOKEN or MINIAPP_BOT_ID)")
    try:
        return verify(raw, check, max_age_s)
    except InitDataError as exc:
        raise _unauthenticated(str(exc)) from None


def bot_user(session: Session, tg: WebAppUser, settings: Settings) -> User:
    """The same row the bot keeps for this Telegram user (created on first contact); 403
    for a user an operator blocked."""
    language = settings.default_language
    user = register_user(
        session, tg.id, tg.id, tg.username, tg.first_name, tg.language_code, language
    )
    if user.blocked:
        raise ProblemError(403, "Forbidden", "this account is blocked")
    return user


def _init_data(connection: HTTPConnection) -> str:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        raise _unauthenticated("send the Mini App's initData as `Authorization: tma <initData>`")
    return value.strip()


def _buyer(max_age: Callable[[ApiRuntime], float]) -> Callable[..., Buyer]:
    def dependency(connection: HTTPConnection, runtime: RuntimeDep, session: SessionDep) -> Buyer:
        """Counted like other callers: a failure per address, a buyer per Telegram user."""
        try:
            tg = telegram_user(runtime, _init_data(connection), max_age(runtime))
        except ProblemError:
            limits = runtime.limiter.limits
            runtime.limiter.hit(limits.anonymous, "ip", client_ip(connection, runtime))
            raise
        runtime.limiter.hit(runtime.limiter.limits.authenticated, f"tma:{tg.id}")
        return Buyer(bot_user(session, tg, runtime.settings), session, runtime.deps)

    return dependency


Reader = Annotated[Buyer, Depends(_buyer(lambda r: r.settings.miniapp_read_max_age_s))]
Payer = Annotated[Buyer, Depends(_buyer(lambda r: r.settings.miniapp_pay_max_age_s))]
