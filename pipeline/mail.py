"""Outgoing mail: SMTP through aiosmtplib, or the console when no SMTP_URL is set.

The console variant exists for `pipeline up` on a developer's machine: the login code
appears in its output, framed so nobody mistakes it for a log line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol, TextIO
from urllib.parse import unquote, urlparse

import aiosmtplib
from loguru import logger

from pipeline.settings import Settings

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


class SmtpMailer:
    """`smtp://user:pass@host:587` uses STARTTLS when the server offers it;
    `smtps://host:465` speaks TLS from the start."""

    def __init__(self, url: str, sender: str, timeout_s: float) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:587 or smtps://…")
        self.hostname = parsed.hostname
        self.port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        self.use_tls = parsed.scheme == "smtps"
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.sender = sender
        self.timeout_s = timeout_s

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        await aiosmtplib.send(
            message,
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            timeout=self.timeout_s,
        )
        logger.info("mail sent to {}", mail.to)


class ConsoleMailer:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, mail: Mail) -> None:
        rule = "=" * 72
        print(
            f"\n{rule}\nDEVELOPMENT MAIL (no SMTP_URL configured: not sent, shown here)\n"
            f"To: {mail.to}\nSubject: {mail.subject}\n\n{mail.text}\n{rule}\n",
            file=self.stream or sys.stdout,
            flush=True,
        )


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url is not None and settings.smtp_url.get_secret_value():
        return SmtpMailer(
            settings.smtp_url.get_secret_value(), settings.smtp_from, settings.smtp_timeout_s
        )
    return ConsoleMailer()
