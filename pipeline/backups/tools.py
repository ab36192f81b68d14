"""Which pg_dump / pg_restore to run, and libpq connection details for them.

The embedded package ships PostgreSQL 18 tools; a newer pg_dump reads older servers, but
its archives may carry settings an older server rejects on restore. So tools on PATH
with the server's own major version win, and the embedded ones are the fallback.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import psycopg

from pipeline.embedded import quiet_embedded_postgres
from schema.session import libpq_url


@dataclass(frozen=True)
class Tools:
    pg_dump: Path
    pg_restore: Path


def server_major(url: str) -> int:
    with psycopg.connect(libpq_url(url), connect_timeout=5) as conn:
        return int(conn.info.server_version // 10000)


@lru_cache(maxsize=8)
def _major(binary: Path) -> int | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    found = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(found.group(1)) if found else None


def _embedded_bin() -> Path | None:
    quiet_embedded_postgres()
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    return Path(POSTGRES_BIN_PATH)


def find_tools(url: str) -> Tools:
    major = server_major(url)
    candidates: list[Path] = []
    on_path = shutil.which("pg_dump")
    if on_path:
        candidates.append(Path(on_path).parent)
    embedded = _embedded_bin()
    if embedded is not None:
        candidates.append(embedded)
    usable = [d for d in candidates if (_major(d / "pg_dump") or 0) >= major]
    exact = [d for d in usable if _major(d / "pg_dump") == major]
    chosen = (exact or usable)[0] if (exact or usable) else None
    if chosen is None:
        raise RuntimeError(f"no pg_dump for PostgreSQL {major} (install postgresql-client)")
    return Tools(chosen / "pg_dump", chosen / "pg_restore")
