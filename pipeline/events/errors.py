"""How a handler says what kind of failure it hit, and which database errors pass."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc


class PermanentError(Exception):
    """Retrying cannot help (a 4xx from a provider, an invalid payload): the event goes dead."""


class TransientError(Exception):
    """Worth retrying later (timeouts, 5xx, locks). Any unexpected exception counts as this."""


class MalformedValue(PermanentError, ValueError):
    """A verified event carries a value the domain cannot accept (currency "EURO", a
    negative amount). The same message will never become valid: dead at once. Still a
    ValueError, so parsers that catch ValueError keep working."""


# SQLSTATEs that pass by themselves: serialization failure, deadlock, lock not
# available, query canceled (statement timeout), admin/crash shutdown, cannot connect
# now, too many connections, read-only transaction (a failover in progress).
_TRANSIENT_SQLSTATES = frozenset(
    {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300", "25006"}
)
# Of these, the ones that mean the server is not there (alert-worthy).
_UNREACHABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_transient_db_error(exc: BaseException) -> bool:
    """True for database failures that a later attempt can get past.

    OperationalError covers a refused or dropped connection, timeouts, serialization
    failures and deadlocks; a pool timeout or an invalidated connection count too.
    DataError, IntegrityError and the like are about the rows: retrying cannot help.
    """
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DisconnectionError | ConnectionError):
        return True
    state = _sqlstate(exc)
    if state is not None:
        return state in _TRANSIENT_SQLSTATES or state.startswith("08")
    # psycopg raised outside SQLAlchemy (a raw connect, a pool check).
    return type(exc).__module__.startswith("psycopg") and type(exc).__name__ in {
        "OperationalError",
        "InterfaceError",
    }


def is_unreachable(exc: BaseException) -> bool:
    """A transient failure that means the database cannot be reached at all (as opposed
    to a deadlock or a serialization failure, which prove it is there)."""
    if not is_transient_db_error(exc):
        return False
    state = _sqlstate(exc)
    return state is None or state.startswith("08") or state in _UNREACHABLE_SQLSTATES


def one_line(exc: BaseException, limit: int = 300) -> str:
    """`Type: first line of the message`, for logs that must stay one line per failure."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    first = text[0].strip() if text else ""
    return f"{type(orig).__name__}: {first}"[:limit]
