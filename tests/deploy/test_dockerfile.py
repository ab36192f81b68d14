"""docker/Dockerfile, parsed: multi-stage, slim, not root, health-checked, one image for
every role; .dockerignore lets in what it copies; the role-aware health check."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cli import app as cli_app

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
HEALTHCHECK_SCRIPT = ROOT / "docker" / "healthcheck.py"
ROLES = ("receiver", "api", "grpc", "worker", "beat", "flower", "migrate")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)

    def all(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) with continuations joined and comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    result = []
    for item in logical:
        keyword, _, rest = item.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages() -> tuple[dict[str, str], list[Stage]]:
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for keyword, rest in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            match = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            assert match, rest
            found.append(Stage(match.group(1), match.group(2)))
        elif not found:
            assert keyword == "ARG", f"{keyword} before the first FROM"
            name, _, default = rest.partition("=")
            global_args[name] = default
        else:
            found[-1].instructions.append((keyword, rest))
            if keyword == "ARG":
                name, _, default = rest.partition("=")
                found[-1].args[name] = default
    return global_args, found


def expand(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), value)


def test_multi_stage_and_slim() -> None:
    global_args, found = stages()
    assert len(found) >= 2, "a build stage and a runtime stage"
    runtime = found[-1]
    assert expand(runtime.base, global_args).endswith("-slim-bookworm"), runtime.base
    copies = runtime.all("COPY")
    assert any(c.startswith(f"--from={found[0].name}") for c in copies), "runtime copies the build"
    runtime_runs = " ".join(runtime.all("RUN"))
    assert "pip install" not in runtime_runs, "no installing in the runtime stage"
    build_runs = " ".join(found[0].all("RUN"))
    assert "--require-hashes" in build_runs and "lock_requirements.py" in build_runs


def test_runs_as_a_non_root_user() -> None:
    _, found = stages()
    runtime = found[-1]
    users = runtime.all("USER")
    assert users, "the runtime stage sets USER"
    user = expand(users[-1], runtime.args).split(":")[0]
    assert user not in {"root", "0", ""}, user
    if user.isdigit():
        assert int(user) >= 1000


def test_healthcheck_entrypoint_and_default_role() -> None:
    _, found = stages()
    runtime = found[-1]
    (healthcheck,) = runtime.all("HEALTHCHECK")
    assert "--interval=" in healthcheck and "--timeout=" in healthcheck
    exec_form = json.loads(healthcheck.split("CMD", 1)[1].strip())
    assert exec_form == ["python", "/app/docker/healthcheck.py"]
    (entrypoint,) = runtime.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["pipeline"]
    (cmd,) = runtime.all("CMD")
    assert json.loads(cmd)[:3] == ["receiver", "--host", "0.0.0.0"]


def test_every_role_is_a_command_of_the_image() -> None:
    commands = {info.name for info in cli_app.registered_commands}
    assert set(ROLES) <= commands, f"missing CLI commands: {set(ROLES) - commands}"


def dockerignore_allows(path: str) -> bool:
    allowed = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if pattern == "**" or fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            allowed = negate
    return allowed


def test_copied_sources_exist_and_are_in_the_build_context() -> None:
    _, found = stages()
    for stage in found:
        for copy in stage.all("COPY"):
            parts = [p for p in shlex.split(copy) if not p.startswith("--")]
            if copy.startswith("--from="):
                continue
            for source in parts[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert dockerignore_allows(source), f"COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize(
    ("argv", "role", "port"),
    [
        (["/opt/venv/bin/python", "/opt/venv/bin/pipeline", "receiver", "--port", "9000"],
         "receiver", "9000"),
        (["pipeline", "receiver", "--host", "0.0.0.0", "--port=8001"], "receiver", "8001"),
        (["pipeline", "worker", "--queues", "ingest"], "worker", None),
        (["pipeline", "api", "--host", "0.0.0.0", "--port", "8001"], "api", "8001"),
        (["pipeline", "grpc", "--host", "0.0.0.0", "--port", "50051"], "grpc", "50051"),
        (["pipeline", "flower", "--address", "0.0.0.0", "--port", "5555"], "flower", "5555"),
        (["pipeline", "beat"], "beat", None),
        (["pipeline", "migrate"], None, None),
    ],
)  # fmt: skip
def test_health_check_reads_the_role(argv: list[str], role: str | None, port: str | None) -> None:
    sys.path.insert(0, str(HEALTHCHECK_SCRIPT.parent))
    try:
        import healthcheck
    finally:
        sys.path.pop(0)
    found, options = healthcheck.parse(argv)
    assert found == role
    assert options.get("port") == port


def test_health_check_of_one_shot_commands_and_beat(tmp_path: Path) -> None:
    script = [sys.executable, str(HEALTHCHECK_SCRIPT)]
    assert subprocess.run([*script, "migrate"], capture_output=True).returncode == 0
    env = {"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    stale = subprocess.run([*script, "beat"], capture_output=True, text=True, env=env)
    assert stale.returncode == 1 and "no celerybeat-schedule" in stale.stdout
    (tmp_path / "celerybeat-schedule").write_bytes(b"")
    fresh = subprocess.run([*script, "beat"], capture_output=True, text=True, env=env)
    assert fresh.returncode == 0, fresh.stdout
