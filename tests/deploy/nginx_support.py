"""Rendering docker/nginx the way the nginx image does, and running it on loopback.

The image renders every `templates/**/*.template` into `conf.d/` with envsubst (only
variables that are set are replaced) and includes `conf.d/*.conf` in `http {}`. Here
the same happens in a temporary prefix; container paths (logs, certificates, webroot)
and the listen ports are pointed into that prefix, nothing else is changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "docker" / "nginx"
TEMPLATE_SUFFIX = ".template"
INSTALL_HINT = (
    "nginx is not installed, so the nginx tests cannot run; install it with "
    "`sudo bash scripts/ci_system_deps.sh` (apt-get install nginx) "
    "or your system's package manager"
)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def envsubst(text: str, env: Mapping[str, str]) -> str:
    """GNU envsubst restricted to the set variables, as the image's entrypoint runs it."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", replace, text)


@dataclass
class Rendered:
    prefix: Path
    conf: Path
    http_port: int
    https_port: int
    webroot: Path
    letsencrypt: Path


def render(
    dest: Path,
    env: Mapping[str, str],
    *,
    tls: bool = False,
    upstream: str | None = None,
    api_upstream: str | None = None,
) -> Rendered:
    """Render the HTTP (or TLS) site into `dest`, listening on free loopback ports; the
    API's upstream is the receiver's unless given."""
    prefix = dest / "nginx"
    conf_d = prefix / "conf.d"
    logs, webroot, letsencrypt = prefix / "logs", dest / "www", dest / "letsencrypt"
    for path in (conf_d, logs, webroot, letsencrypt, prefix / "temp"):
        path.mkdir(parents=True, exist_ok=True)
    http_port, https_port = free_port(), free_port()
    values = dict(env)
    if upstream:
        values["RECEIVER_UPSTREAM"] = upstream
    if api_upstream or upstream:
        values["API_UPSTREAM"] = api_upstream or upstream or ""
    sources = {
        path.relative_to(NGINX_DIR / "templates"): path
        for path in (NGINX_DIR / "templates").rglob(f"*{TEMPLATE_SUFFIX}")
    }
    if tls:
        sources[Path("default.conf.template")] = NGINX_DIR / "templates-tls/default.conf.template"
    for relative, source in sources.items():
        text = envsubst(source.read_text(), values)
        text = text.replace("/var/log/nginx/", f"{logs}/")
        text = text.replace("/etc/letsencrypt/", f"{letsencrypt}/")
        text = text.replace("/var/www/certbot", str(webroot))
        text = re.sub(r"listen 80\b", f"listen 127.0.0.1:{http_port}", text)
        text = re.sub(r"listen 443\b", f"listen 127.0.0.1:{https_port}", text)
        target = conf_d / str(relative).removesuffix(TEMPLATE_SUFFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    temp = prefix / "temp"
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {logs}/error.log info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n"
        f"    fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n"
        f"    scgi_temp_path {temp}/scgi;\n"
        "    include conf.d/*.conf;\n"
        "}\n"
    )
    return Rendered(prefix, conf, http_port, https_port, webroot, letsencrypt)


def nginx_command(binary: str, rendered: Rendered, *extra: str) -> list[str]:
    error_log = str(rendered.prefix / "logs" / "error.log")
    return [binary, "-p", f"{rendered.prefix}/", "-c", str(rendered.conf), "-e", error_log, *extra]


def check_config(binary: str, rendered: Rendered) -> str:
    """`nginx -t`: fails the test with nginx's own words when the config is wrong."""
    result = subprocess.run(
        nginx_command(binary, rendered, "-t"), capture_output=True, text=True, timeout=30
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"nginx -t failed:\n{output}"
    return output


@contextmanager
def running(binary: str, rendered: Rendered) -> Iterator[Rendered]:
    process = subprocess.Popen(
        nginx_command(binary, rendered, "-g", "daemon off;"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    pid_file = rendered.prefix / "nginx.pid"

    def started() -> bool:
        if process.poll() is not None:
            log = (rendered.prefix / "logs" / "error.log").read_text()
            raise AssertionError(f"nginx exited:\n{log[-3000:]}")
        return pid_file.exists()

    try:
        wait_until(started, 15, "nginx to start")
        yield rendered
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
