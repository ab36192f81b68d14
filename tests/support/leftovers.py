"""Embedded servers a test run must not leave behind.

Tests give every process they start a data directory of their own (DATA_DIR), and stop
what they start. This finds redis-server / postgres processes whose command line names
a given data directory, so the session can fail if one outlived the tests.
"""

from __future__ import annotations

from pathlib import Path

SERVERS = ("redis-server", "postgres")


def _command_lines() -> dict[int, str]:
    lines: dict[int, str] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        lines[int(entry.name)] = raw.replace(b"\0", b" ").decode(errors="replace")
    return lines


def servers_in(directories: list[Path]) -> dict[int, str]:
    """pid -> command line of each embedded server running in one of `directories`."""
    roots = [f"{d.resolve()}/" for d in directories]
    return {
        pid: line
        for pid, line in _command_lines().items()
        if any(server in line.split(" ", 1)[0] for server in SERVERS)
        and any(root in line for root in roots)
    }
