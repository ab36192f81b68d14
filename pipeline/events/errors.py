"""How a handler says what kind of failure it hit."""


class PermanentError(Exception):
    """Retrying cannot help (a 4xx from a provider, an invalid payload): the event goes dead."""


class TransientError(Exception):
    """Worth retrying later (timeouts, 5xx, locks). Any unexpected exception counts as this."""
