"""The .po files compile on first use into a cache keyed by their content: a fresh clone
needs no build step, and an edited catalogue is never read stale."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.i18n import catalogues


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    locales = tmp_path / "locales"
    shutil.copytree(catalogues.LOCALES, locales)
    monkeypatch.setattr(catalogues, "LOCALES", locales)
    monkeypatch.setattr(catalogues, "po_files", lambda root=locales: _po(root))
    monkeypatch.setenv("PIPELINE_LOCALE_CACHE", str(tmp_path / "cache"))
    catalogues.compiled_dir.cache_clear()
    catalogues.translations.cache_clear()
    yield locales
    catalogues.compiled_dir.cache_clear()
    catalogues.translations.cache_clear()


def _po(root: Path) -> dict[str, Path]:
    return {p.parent.parent.name: p for p in sorted(root.glob("*/LC_MESSAGES/messages.po"))}


def test_missing_mo_files_are_compiled(fresh: Path, tmp_path: Path) -> None:
    built = catalogues.compiled_dir()
    assert built.parent == tmp_path / "cache"
    assert (built / "ru" / "LC_MESSAGES" / "messages.mo").stat().st_size > 0
    assert catalogues.translations()["ru"].gettext("paid") == "оплачен"


def test_an_edited_catalogue_gets_a_new_directory(fresh: Path) -> None:
    before = catalogues.compiled_dir()
    po = fresh / "ru" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text().replace('msgstr "оплачен"', 'msgstr "оплачено"'))
    catalogues.compiled_dir.cache_clear()
    catalogues.translations.cache_clear()
    after = catalogues.compiled_dir()
    assert after != before
    assert catalogues.translations()["ru"].gettext("paid") == "оплачено"


def test_a_third_language_is_a_catalogue(fresh: Path) -> None:
    de = fresh / "de" / "LC_MESSAGES"
    de.mkdir(parents=True)
    (de / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: de\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "paid"\nmsgstr "bezahlt"\n'
    )
    assert catalogues.translations()["de"].gettext("paid") == "bezahlt"
