"""Product photo addresses: checked when written, because the Mini App puts them into
`<img src>` for every buyer. Only an https:// address or a path on this server under
/static/ is kept; javascript:, data:, http:, protocol-relative (//host) and anything with
spaces, control characters or credentials is refused."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_LENGTH = 2048
SAME_ORIGIN_PREFIX = "/static/"
UNSAFE = re.compile(r"[\s\x00-\x1f\x7f\\<>\"']")


def check_image_url(value: str | None) -> str | None:
    """The address unchanged, None for none (an empty string clears it), or ValueError."""
    if value is None or value == "":
        return None
    if len(value) > MAX_LENGTH:
        raise ValueError(f"image_url is longer than {MAX_LENGTH} characters")
    if UNSAFE.search(value):
        raise ValueError("image_url may not contain spaces, quotes or control characters")
    if value.startswith(SAME_ORIGIN_PREFIX):
        if ".." in value.split("?", 1)[0].split("/"):
            raise ValueError("image_url may not climb out of /static/")
        return value
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError("image_url must be an https:// address or a /static/ path")
    if parts.username is not None or parts.password is not None:
        raise ValueError("image_url may not carry credentials")
    return value
