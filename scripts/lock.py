"""Regenerate poetry.lock.

Poetry resolves through PyPI's JSON API by default. Where only the simple index is
reachable (mirrors, proxies), set LOCK_INDEX_URL to that simple index: the lock is
resolved through it and written as if it came from the default source, so the
committed lock names no mirror.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def poetry_bin() -> str:
    found = shutil.which("poetry")
    if found:
        return found
    candidate = Path.home() / ".cache" / "pipeline-poetry" / "bin" / "poetry"
    if candidate.exists():
        return str(candidate)
    sys.exit("poetry not found: install poetry (pipx install poetry) first")


def main() -> None:
    pyproject = ROOT / "pyproject.toml"
    lock = ROOT / "poetry.lock"
    index = os.environ.get("LOCK_INDEX_URL")
    poetry = poetry_bin()
    if not index:
        subprocess.run([poetry, "lock"], cwd=ROOT, check=True)
        return
    original = pyproject.read_text()
    source = (
        f'\n[[tool.poetry.source]]\nname = "lock-mirror"\nurl = "{index}"\npriority = "primary"\n'
    )
    try:
        pyproject.write_text(original + source)
        subprocess.run([poetry, "lock"], cwd=ROOT, check=True)
    finally:
        pyproject.write_text(original)
    text = re.sub(
        r'\n\[package\.source\]\ntype = "legacy"\nurl = "[^"]+"\nreference = "lock-mirror"\n',
        "\n",
        lock.read_text(),
    )
    lock.write_text(text)
    # Recompute the content hash for the pyproject without the temporary source.
    code = (
        "from pathlib import Path; import re, sys\n"
        "from poetry.factory import Factory\n"
        "p = Factory().create_poetry(Path(sys.argv[1]))\n"
        "h = p.locker._get_content_hash()\n"
        "lock = Path(sys.argv[1]) / 'poetry.lock'\n"
        "s = re.sub(r'content-hash = \"[0-9a-f]+\"', f'content-hash = \"{h}\"', lock.read_text())\n"
        "lock.write_text(s)\n"
    )
    python = str(Path(poetry).parent / "python")
    subprocess.run([python, "-c", code, str(ROOT)], check=True)
    print("poetry.lock written")


if __name__ == "__main__":
    main()
