"""The gettext catalogues: `pipeline/locales/<lang>/LC_MESSAGES/messages.po` in the
repository, compiled to `.mo` on first use into a cache keyed by their content.

Nothing compiled is committed: a fresh clone, a wheel or an image compiles at the first
import of a process, and any edit of a `.po` file gives a new cache directory. The bot's
aiogram `I18n` reads the same compiled directory as the workers.
"""

from __future__ import annotations

import gettext
import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def po_files(root: Path = LOCALES) -> dict[str, Path]:
    """The catalogue of each language: adding a language is adding its directory."""
    return {
        path.parent.parent.name: path for path in sorted(root.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    }


def _cache_roots() -> list[Path]:
    configured = os.environ.get("PIPELINE_LOCALE_CACHE")
    if configured:
        return [Path(configured)]
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    # A read-only home (a container's non-root user) falls back to the temp directory.
    return [Path(xdg) / "pipeline" / "locales", Path(tempfile.gettempdir()) / "pipeline-locales"]


def _fingerprint(files: dict[str, Path]) -> str:
    digest = hashlib.sha256()
    for lang, path in sorted(files.items()):
        digest.update(lang.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _compile(po: Path, mo: Path) -> None:
    with po.open("rb") as source:
        catalog = read_po(source)
    mo.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and renamed: processes starting together never read half a file.
    fd, partial = tempfile.mkstemp(dir=mo.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(partial, mo)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


@cache
def compiled_dir() -> Path:
    """A directory of `<lang>/LC_MESSAGES/messages.mo`, compiled now if missing."""
    files = po_files()
    if not files:
        raise RuntimeError(f"no catalogues under {LOCALES}")
    key = _fingerprint(files)
    errors: list[str] = []
    for root in _cache_roots():
        target = root / key
        try:
            for lang, po in files.items():
                mo = target / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
                if not mo.exists():
                    _compile(po, mo)
            return target
        except OSError as exc:
            errors.append(f"{target}: {exc}")
    raise RuntimeError("cannot write compiled catalogues: " + "; ".join(errors))


@cache
def translations() -> dict[str, gettext.GNUTranslations]:
    found: dict[str, gettext.GNUTranslations] = {}
    base = compiled_dir()
    for lang in po_files():
        with (base / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as fp:
            found[lang] = gettext.GNUTranslations(fp)
    return found
