"""`pipeline api`: the operator API (FastAPI on uvicorn), started by name so the CLI does
not import the `api` package."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer

from cli.common import DataDirOption, prepare
from pipeline.metrics import prepare_multiprocess_dir
from pipeline.runtime import Services
from pipeline.settings import get_settings

DEV_KEY_FILE = "api-jwt-secret"


def ensure_signing_key(services: Services) -> None:
    """With the embedded database (a developer's `pipeline up`), a missing API_JWT_SECRET
    is generated once and kept in DATA_DIR, so logins survive restarts. Anywhere else the
    key must be configured: the API refuses to start without a real one."""
    configured = get_settings().api_jwt_secret
    if configured is not None and configured.get_secret_value():
        return
    if "postgresql" not in services.embedded:
        return
    path = services.data_dir / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    os.environ["API_JWT_SECRET"] = path.read_text().strip()
    get_settings.cache_clear()


def api(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8001, help="Port to listen on."),
    workers: int = typer.Option(1, help="API processes."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Run the operator API (/api/v1, docs at /api/docs)."""
    import uvicorn

    from pipeline.auth.tokens import UnsafeSigningKey, check_signing_key

    services = prepare("api", data_dir)
    ensure_signing_key(services)
    key = get_settings().api_jwt_secret
    try:
        check_signing_key(key.get_secret_value() if key else None)
    except UnsafeSigningKey as exc:
        services.stop_started()
        typer.echo(f"api: refusing to start: {exc}", err=True)
        raise typer.Exit(2) from None
    if workers > 1:  # /metrics must add up every process' counters
        prepare_multiprocess_dir(services.data_dir / "metrics" / f"api-{port}")
    try:
        uvicorn.run(
            "api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=10,
            # Live messages are small JSON batches sent to many clients; compressing each
            # one separately per client costs CPU for little gain.
            ws_per_message_deflate=False,
        )
    finally:
        services.stop_started()
