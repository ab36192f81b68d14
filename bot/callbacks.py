"""Every button's callback data, as aiogram `CallbackData` classes.

Callback data comes back from the user's client and can be anything (a modified client
sends whatever it likes), so each field is parsed strictly: the exact form the bot
writes, within range. Data that does not parse matches no handler and gets the
"button no longer valid" answer (bot/handlers/fallback.py); an id that parses is still
checked against the database by the handler (the product on sale, the order the user's).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import BeforeValidator, Field

_ID = re.compile(r"[1-9][0-9]{0,18}")
_PUBLIC_ORDER_ID = r"^o-[0-9a-f]{12}$"  # pipeline.shop.service.create_order


def _canonical_id(value: Any) -> Any:
    """Only the digits the bot writes: pydantic alone would take " 1", "1.0", "1_0"."""
    if isinstance(value, str) and not _ID.fullmatch(value):
        raise ValueError("not an id")
    return value


RowId = Annotated[int, BeforeValidator(_canonical_id), Field(ge=1, le=2**63 - 1)]
PayMethodName = Literal["card", "stars", "link"]


class LanguageChoice(CallbackData, prefix="lang"):
    code: Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]


class BuyProduct(CallbackData, prefix="buy"):
    product_id: RowId


class PayProduct(CallbackData, prefix="pay"):
    method: PayMethodName
    product_id: RowId


class OrderDetails(CallbackData, prefix="order"):
    public_id: Annotated[str, Field(pattern=_PUBLIC_ORDER_ID)]
