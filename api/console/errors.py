"""Errors of console pages: answered as an HTML page, or as a toast for htmx requests."""

from __future__ import annotations


class ConsoleError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """No valid session: to the login page (htmx requests are told to go there)."""
