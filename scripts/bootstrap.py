"""Create ./.venv and install the project pinned to poetry.lock.

Used by the README's two commands so that a machine with nothing but Python 3.11+
can start the pipeline and run the tests. Poetry is the packaging tool of record
(`poetry install` works where the registry offers PyPI's JSON API); this script
installs the same locked versions with plain pip, which needs only the simple index.
Re-runs are instant while pyproject.toml and poetry.lock are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("PIPELINE_VENV", ROOT / ".venv"))
DEV_GROUP = ("tool", "poetry", "group", "dev", "dependencies")


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "poetry.lock"):
        digest.update((ROOT / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def locked_pins() -> list[str]:
    lock = tomllib.loads((ROOT / "poetry.lock").read_text())
    return [f"{pkg['name']}=={pkg['version']}" for pkg in lock["package"]]


def dev_requirements() -> list[str]:
    node = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for key in DEV_GROUP:
        node = node.get(key, {})
    return sorted(node)


def main() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}")
    stamp = VENV / ".installed"
    wanted = fingerprint()
    if stamp.exists() and stamp.read_text() == wanted and venv_python().exists():
        return
    if not venv_python().exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    constraints = VENV / "constraints.txt"
    constraints.write_text("\n".join(locked_pins()) + "\n")
    print("installing locked dependencies (first run takes a minute)", flush=True)
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "--quiet", "-c", str(constraints), "-e", str(ROOT), *dev_requirements()],
        check=True,
    )
    stamp.write_text(wanted)
    print("dependencies ready", flush=True)


if __name__ == "__main__":
    main()
