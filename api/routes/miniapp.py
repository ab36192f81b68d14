"""`/api/v1/miniapp/…`: the buyer's side of the Telegram Mini App (docs/miniapp.md).

Every route authenticates by `Authorization: tma <initData>` and sees only the caller's
own cart and orders: another buyer's order answers 404, as a missing one does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from loguru import logger
from pydantic import BaseModel, Field

from api.deps import UnitOfWorkDep
from api.errors import ProblemError, error_responses
from api.miniapp.auth import Buyer, Payer, Reader
from pipeline.assistant.service import assist
from pipeline.events.errors import PermanentError, TransientError
from pipeline.i18n import LANGUAGES, text
from pipeline.live.orders import receipt_urls
from pipeline.miniapp import shop
from pipeline.miniapp.payment import NotPayable, invoice_link, yookassa_link
from pipeline.settings import Settings
from pipeline.shop import feedback
from pipeline.telegram.api import BotApi, NoBotToken, TelegramError
from pipeline.telegram.limiter import RateLimiter
from pipeline.unit_of_work import UnitOfWork
from schema.catalog import Product

router = APIRouter(prefix="/miniapp", tags=["miniapp"])
DENIED = error_responses(401, 503)
PublicId = Annotated[str, Path(min_length=1, max_length=64)]
ProductId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class LanguageIn(BaseModel):
    language: str = Field(pattern="^[a-z]{2}$")


class QuantityIn(BaseModel):
    quantity: int = Field(ge=0, le=shop.MAX_QUANTITY)


class CheckoutIn(BaseModel):
    method: shop.Method


class FeedbackIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


def _bot(settings: Settings) -> BotApi:
    try:
        return BotApi(settings)
    except NoBotToken:
        raise ProblemError(503, detail="this needs TELEGRAM_BOT_TOKEN on the server") from None


def _me(buyer: Buyer) -> dict[str, Any]:
    user = buyer.user
    return {
        "id": user.id,
        "telegram_id": user.telegram_id,
        "first_name": user.first_name,
        "language": user.language,
        "languages": list(LANGUAGES),
        "shop_name": buyer.settings.shop_name,
    }


@router.get("/me", responses=DENIED, summary="The buyer and their language")
def me(buyer: Reader) -> dict[str, Any]:
    return _me(buyer)


@router.put("/me/language", responses=DENIED, summary="Switch the buyer's language")
def set_language(body: LanguageIn, buyer: Reader) -> dict[str, Any]:
    if body.language not in LANGUAGES:
        raise ProblemError(422, detail=f"languages: {', '.join(LANGUAGES)}")
    buyer.user.language = body.language  # the bot speaks it from now on, too
    return _me(buyer)


@router.get("/catalog", responses=DENIED, summary="Products in the buyer's language")
def catalog(buyer: Reader) -> dict[str, Any]:
    items = shop.catalog(buyer.session, buyer.lang, buyer.settings)
    return {"items": items, "methods": shop.methods(buyer.deps)}


@router.get("/cart", responses=DENIED, summary="The buyer's cart")
def cart(buyer: Reader) -> dict[str, Any]:
    return shop.cart_view(buyer.session, buyer.user, buyer.lang, buyer.deps)


@router.put(
    "/cart/{product_id}",
    responses={**DENIED, **error_responses(409)},
    summary="Set a product's quantity in the cart (0 removes it)",
)
def put_cart(product_id: ProductId, body: QuantityIn, buyer: Reader) -> dict[str, Any]:
    try:
        shop.set_quantity(buyer.session, buyer.user, product_id, body.quantity)
    except shop.ShopError as exc:
        raise ProblemError(409, detail=str(exc)) from None
    return shop.cart_view(buyer.session, buyer.user, buyer.lang, buyer.deps)


@router.post(
    "/checkout",
    status_code=201,
    responses={**DENIED, **error_responses(409)},
    summary="Turn the cart into orders",
)
def checkout(body: CheckoutIn, buyer: Payer) -> dict[str, Any]:
    try:
        orders = shop.checkout(buyer.session, buyer.user, body.method, buyer.deps)
    except shop.ShopError as exc:
        raise ProblemError(409, detail=str(exc)) from None
    buyer.session.flush()
    return {"orders": [_view(buyer, o.public_id) for o in orders]}


@router.get("/orders", responses=DENIED, summary="The buyer's orders, newest first")
def orders(buyer: Reader) -> dict[str, Any]:
    default = buyer.settings.default_language
    return {"items": shop.order_views(buyer.session, buyer.user, buyer.lang, default)}


def _view(buyer: Buyer, public_id: str) -> dict[str, Any]:
    order = shop.own_order(buyer.session, buyer.user, public_id)
    if order is None:
        raise ProblemError(404, detail=f"no order {public_id}")
    product = buyer.session.get(Product, order.product_id)
    assert product is not None  # a foreign key
    urls = receipt_urls(buyer.session, [order.id]).get(order.id, [])
    return shop.order_view(order, product, buyer.lang, urls, buyer.settings.default_language)


@router.get(
    "/orders/{public_id}",
    responses={**DENIED, **error_responses(404)},
    summary="One of the buyer's orders",
)
def order(public_id: PublicId, buyer: Reader) -> dict[str, Any]:
    return _view(buyer, public_id)


@router.post(
    "/orders/{public_id}/pay",
    responses={**DENIED, **error_responses(404, 409, 502, 503)},
    summary="An invoice link (Stars, provider) or the YooKassa page for the order",
)
def pay(public_id: PublicId, buyer: Payer) -> dict[str, str]:
    view = _view(buyer, public_id)
    found = shop.own_order(buyer.session, buyer.user, public_id)
    assert found is not None  # _view answered 404 otherwise
    title = view["product"]["title"]
    try:
        if found.payment_method == "yookassa":
            url = yookassa_link(buyer.session, found, title, buyer.deps)
            return {"kind": "link", "url": url}
        description = view["product"]["description"]
        url = invoice_link(_bot(buyer.settings), found, title, description, buyer.settings)
    except NotPayable as exc:
        raise ProblemError(409, detail=str(exc)) from None
    except (TelegramError, PermanentError, TransientError) as exc:
        logger.warning("payment for {} not prepared: {}", public_id, exc)
        raise ProblemError(502, detail="the payment service did not answer; try again") from None
    return {"kind": "invoice", "url": url}


def _relay(
    buyer: Buyer, uow: UnitOfWork, body: str, handoff: str | None = None, answer: str | None = None
) -> None:
    """The operators' copy, as the bot relays it (triage labels, the hand-off and its reason),
    sent through the Bot API from here; 502 when Telegram refuses it."""
    chat = buyer.settings.operator_chat_id
    assert chat is not None  # the callers answer without relaying otherwise
    header, labels = feedback.operator_message(
        buyer.session, uow.deps, buyer.user, body, handoff=handoff, answer=answer
    )
    try:
        sent = _bot(buyer.settings).send_message(chat, f"Mini App · {header}")
    except TelegramError as exc:
        logger.warning("Mini App message not relayed: {}", exc)
        raise ProblemError(502, detail="the message was not delivered; try again") from None
    feedback.relayed_copy_sent(
        buyer.session,
        buyer.user,
        body,
        None,
        chat,
        int(sent["message_id"]),
        labels,
        uow.after_commit,
        uow.deps,
    )


@router.post(
    "/feedback",
    status_code=202,
    responses={**DENIED, **error_responses(502, 503)},
    summary="A message to the shop's operators",
)
def post_feedback(body: FeedbackIn, buyer: Reader, uow: UnitOfWorkDep) -> dict[str, bool]:
    if buyer.settings.operator_chat_id is None:
        raise ProblemError(503, detail="feedback is not set up for this shop")
    _relay(buyer, uow, body.text)
    return {"sent": True}


@router.post(
    "/assistant",
    responses={**DENIED, **error_responses(502, 503)},
    summary="Ask the shop's assistant; what it cannot answer goes to the operators",
)
def ask_assistant(body: FeedbackIn, buyer: Reader, uow: UnitOfWorkDep) -> dict[str, Any]:
    settings = buyer.settings
    reply = assist(buyer.session, uow.deps.redis, buyer.user, body.text, settings)
    if reply.handoff is None:
        return {"answer": reply.text, "language": reply.language, "handed_off": False}
    per_hour = settings.throttle_feedback_per_hour
    if settings.operator_chat_id is None:
        note = "assistant_no_answer"
    elif not feedback.allowed(RateLimiter(uow.deps.redis), buyer.user.telegram_id, per_hour):
        note = "feedback_throttled"
    else:
        _relay(buyer, uow, body.text, handoff=reply.handoff, answer=reply.draft)
        note = "assistant_handoff"
    answer = text(reply.language, note)
    return {"answer": answer, "language": reply.language, "handed_off": note == "assistant_handoff"}
