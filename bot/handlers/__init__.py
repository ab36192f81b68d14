"""One router per concern; `bot.factory` wires them."""
