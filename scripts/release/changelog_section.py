"""Print one version's section of CHANGELOG.md (Keep a Changelog form): the release
workflow's GitHub release text. `--check` also fails when the section is empty.

    python scripts/release/changelog_section.py 1.2.0   # or v1.2.0, or Unreleased
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parents[2] / "CHANGELOG.md"
LINK = re.compile(r"^\[[^\]]+\]: ")
HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$")


class SectionNotFound(LookupError):
    pass


def section(text: str, version: str) -> str:
    """The body under `## [version]` up to the next `## ` heading, trimmed."""
    wanted = version.removeprefix("v")
    # Link reference definitions ("[1.2.0]: https://...") belong to no section.
    lines = [line for line in text.splitlines() if not LINK.match(line)]
    start = None
    for index, line in enumerate(lines):
        match = HEADING.match(line)
        if match is None:
            continue
        if start is not None:
            return "\n".join(lines[start:index]).strip()
        if match.group("version").lower() == wanted.lower():
            start = index + 1
    if start is None:
        raise SectionNotFound(f"CHANGELOG.md has no section [{wanted}]")
    return "\n".join(lines[start:]).strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version")
    parser.add_argument("--file", type=Path, default=CHANGELOG)
    args = parser.parse_args(argv)
    try:
        body = section(args.file.read_text(encoding="utf-8"), args.version)
    except SectionNotFound as exc:
        print(exc, file=sys.stderr)
        return 1
    if not body:
        print(f"the section [{args.version}] of {args.file.name} is empty", file=sys.stderr)
        return 1
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
