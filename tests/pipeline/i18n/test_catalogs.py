"""The gettext catalogues: every msgid the code uses (with its context: the Mini App's
texts are under "miniapp") is in every catalogue, translated with the same placeholders
and the language's number of plural forms."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from pipeline.i18n import FALLBACK, LANGUAGES, greeting, pick_language, text
from pipeline.i18n.catalogues import po_files
from pipeline.i18n.messages import MESSAGES, PLURALS
from pipeline.miniapp.texts import CONTEXT, TEXTS
from pipeline.settings import Settings
from scripts.i18n import extract


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=path.parent.parent.name)


@pytest.fixture(scope="module")
def used() -> Catalog:
    return extract()


def keys(catalog: Catalog) -> set[tuple[str | None, object]]:
    """(msgctxt, msgid): the same msgid in two contexts is two entries."""
    return {(m.context, m.id) for m in catalog if m.id}


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, tuple) else (str(message.id),)


def _strings(message: Message) -> tuple[str, ...]:
    found = message.string
    return tuple(found) if isinstance(found, tuple) else (str(found or ""),)


def test_both_languages_have_a_catalogue() -> None:
    assert set(LANGUAGES) >= {"en", "ru"} and LANGUAGES[0] == FALLBACK


def test_the_code_uses_every_keyed_message(used: Catalog) -> None:
    """`N_`/`NP_` mark the keyed messages, so extraction finds them all."""
    ids = keys(used)
    assert {(None, msgid) for msgid in MESSAGES.values()} <= ids
    assert {(None, pair) for pair in PLURALS.values()} <= ids
    assert {(CONTEXT, msgid) for msgid in TEXTS.values()} <= ids


@pytest.mark.parametrize("lang", sorted(po_files()))
def test_every_msgid_in_code_is_in_the_catalogue(used: Catalog, lang: str) -> None:
    catalogue = load(po_files()[lang])
    wanted = keys(used)
    have = keys(catalogue)
    assert wanted - have == set(), "run `python scripts/i18n.py extract` and translate"
    assert have - wanted == set(), "msgids no code uses: run `python scripts/i18n.py extract`"


@pytest.mark.parametrize("lang", sorted(po_files()))
def test_translations_are_complete_with_matching_placeholders(lang: str) -> None:
    catalogue = load(po_files()[lang])
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        strings = _strings(message)
        if lang == FALLBACK and not any(strings):
            continue  # the source language: the msgid is the text
        assert all(s.strip() for s in strings), f"{lang}: untranslated {message.id!r}"
        expected = placeholders(_ids(message)[-1])
        for s in strings:
            assert placeholders(s) == expected, f"{lang}: {message.id!r} → {s!r}"
        if isinstance(message.id, tuple):
            assert len(strings) == catalogue.num_plurals, message.id


def test_russian_has_three_plural_forms() -> None:
    assert load(po_files()["ru"]).num_plurals == 3
    assert Locale.parse("ru").plural_form.tags >= {"one", "few", "many"}


def test_russian_plural_forms() -> None:
    from pipeline.i18n import plural

    counts = {n: plural("ru", "items", n) for n in (1, 2, 5, 11, 21, 22, 111, 1000)}
    assert counts == {
        1: "1 товар",
        2: "2 товара",
        5: "5 товаров",
        11: "11 товаров",
        21: "21 товар",
        22: "22 товара",
        111: "111 товаров",
        1000: "1\u00a0000 товаров",
    }
    assert [plural("en", "items", n) for n in (1, 2, 1000)] == ["1 item", "2 items", "1,000 items"]


def test_language_from_telegram_code() -> None:
    assert pick_language("ru") == "ru"
    assert pick_language("en-US") == "en"
    assert pick_language("de", "ru") == "ru"
    assert pick_language(None) == "en"


def test_text_renders_params_in_the_language() -> None:
    assert text("ru", "receipt_ready", order="ord-1", url="https://ofd") == (
        "Ваш чек по заказу ord-1: https://ofd"
    )
    assert text("en", "receipt_ready", order="ord-1", url="https://ofd") == (
        "Your receipt for order ord-1: https://ofd"
    )
    # An unknown language reads the fallback.
    assert text("xx", "orders_empty") == "You have no orders yet."


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("shop", ["", "  ", "Tea & Co"])
def test_greeting_reads_well_with_or_without_a_shop_name(lang: str, shop: str) -> None:
    first_line = greeting(lang, "Ann", shop).splitlines()[0]
    assert "Ann" in first_line
    assert "  " not in first_line and " ." not in first_line and "«»" not in first_line
    assert ("Tea & Co" in first_line) == bool(shop.strip())


def test_the_greeting_names_no_shop_by_default() -> None:
    assert Settings(_env_file=None).shop_name == ""
    assert greeting("en", "Ann", Settings(_env_file=None).shop_name).startswith(
        "Hello, Ann! Here you can choose our products"
    )
