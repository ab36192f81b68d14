"""The gettext catalogues (pipeline/locales): extract, add a language, compile.

    .venv/bin/python scripts/i18n.py extract    # msgids in the code → every messages.po
    .venv/bin/python scripts/i18n.py init de    # a new language: pipeline/locales/de/LC_MESSAGES
    .venv/bin/python scripts/i18n.py compile    # .po → .mo in the cache (done at import anyway)

`extract` reads the same settings as `pybabel extract -F pyproject.toml` ([tool.babel]):
`pybabel extract -F pyproject.toml -o messages.pot bot pipeline api` gives the same
template. Translators edit the .po files; no template or .mo file is committed.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "pipeline" / "locales"
SOURCES = ("bot", "pipeline", "api")
HEADER = {"project": "tg-webhook-pipeline", "msgid_bugs_address": "", "fuzzy": False}


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict[str, object]]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["babel"]
    methods: list[tuple[str, str]] = []
    options: dict[str, dict[str, object]] = {}
    for entry in config["mappings"]:
        methods.append((entry["pattern"], entry["method"]))
        keywords = parse_keywords(entry.get("keywords", "").split())
        options[entry["pattern"]] = {"keywords": keywords}
    return methods, options


def extract() -> Catalog:
    """Every msgid the code uses, with where it is used."""
    catalog = Catalog(**HEADER)  # type: ignore[arg-type]
    methods, options = _mapping()
    for source in SOURCES:
        found = extract_from_dir(str(ROOT / source), methods, options, keywords=DEFAULT_KEYWORDS)
        for filename, lineno, message, comments, context in found:
            path = f"{source}/{filename}"
            catalog.add(message, None, [(path, lineno)], auto_comments=comments, context=context)
    return catalog


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, sort_output=True, omit_header=False)


def update() -> None:
    template = extract()
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()  # git keeps the history; the file keeps what is used
        _write(po, catalog)
        print(f"updated {po.relative_to(ROOT)}")


def init(lang: str) -> None:
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if po.exists():
        sys.exit(f"{po} exists")
    catalog = Catalog(locale=lang, **HEADER)  # type: ignore[arg-type]
    catalog.update(extract(), no_fuzzy_matching=True)
    _write(po, catalog)
    print(f"created {po.relative_to(ROOT)}: translate its msgstr entries")


def main() -> None:
    command = sys.argv[1:2]
    if command == ["extract"]:
        update()
    elif command == ["init"] and len(sys.argv) == 3:
        init(sys.argv[2])
    elif command == ["compile"]:
        sys.path.insert(0, str(ROOT))
        from pipeline.i18n.catalogues import compiled_dir

        print(compiled_dir())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
