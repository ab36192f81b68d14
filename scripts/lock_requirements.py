"""Print the pins of poetry.lock as a pip requirements file, with hashes.

The image build installs exactly these (`pip install --require-hashes --no-deps`), and
the dependency audit checks them, so neither needs Poetry:

    python scripts/lock_requirements.py --group main > requirements.txt
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def requirement(package: dict[str, Any], group: str | None, hashes: bool) -> str:
    line = f"{package['name']}=={package['version']}"
    markers = package.get("markers")
    if isinstance(markers, dict):
        markers = markers.get(group or "main") or next(iter(markers.values()), None)
    if markers:
        line += f" ; {markers}"
    if hashes:
        line += "".join(f" \\\n    --hash={item['hash']}" for item in package.get("files", []))
    return line


def requirements(lock: Path, group: str | None, hashes: bool = True) -> list[str]:
    packages = tomllib.loads(lock.read_text())["package"]
    chosen = [p for p in packages if group is None or group in p.get("groups", ["main"])]
    return [requirement(p, group, hashes) for p in sorted(chosen, key=lambda p: p["name"])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=ROOT / "poetry.lock")
    parser.add_argument("--group", default="main", help="Poetry group, or 'all'.")
    parser.add_argument("--no-hashes", action="store_true", help="Pins only.")
    args = parser.parse_args(argv)
    group = None if args.group == "all" else args.group
    lines = requirements(args.lock, group, hashes=not args.no_hashes)
    if not lines:
        sys.exit(f"no packages of group {args.group!r} in {args.lock}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
