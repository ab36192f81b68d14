"""`pipeline backup now|list|verify|restore`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cli.common import DataDirOption, prepare
from cli.runtime import cli_runtime
from pipeline.backups import BackupError, BackupFile, list_backups, restore, verify
from pipeline.settings import backup_dir, get_settings

app = typer.Typer(help="Database backups: dump, list, verify, restore.", no_args_is_help=True)


def _pick(directory: Path, file: Path | None) -> BackupFile:
    if file is not None:
        found = [b for b in list_backups(file.parent) if b.path.resolve() == file.resolve()]
        if not found:
            typer.echo(f"not a backup file: {file}", err=True)
            raise typer.Exit(1)
        return found[0]
    backups = list_backups(directory)
    if not backups:
        typer.echo(f"no backups in {directory}", err=True)
        raise typer.Exit(1)
    return backups[0]


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\rrestoring [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@app.command("now")
def now(
    verify_after: bool = typer.Option(False, "--verify", help="Also verify the new dump."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Dump the database now (then rotate old backups)."""
    from pipeline.backups.jobs import run_backup

    with cli_runtime("cli", data_dir, need_broker=False, pool_size=1) as runtime:
        url = runtime.services.database_url
        backup = run_backup(runtime.sessions, url, runtime.deps, check=verify_after)
    if backup is None:
        typer.echo("backup failed (see the log; an alert was raised)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{backup.path}  {backup.path.stat().st_size} bytes")


@app.command("list")
def list_cmd() -> None:
    """List backups, newest first."""
    directory = backup_dir(get_settings())
    backups = list_backups(directory)
    if not backups:
        typer.echo(f"no backups in {directory}")
    for backup in backups:
        size = backup.path.stat().st_size
        checksum = "ok" if backup.checksum_path.exists() else "missing"
        typer.echo(
            f"{backup.created_at:%Y-%m-%d %H:%M:%S}  {size:>12}  sha256:{checksum}  {backup.path}"
        )


@app.command("verify")
def verify_cmd(
    file: Path | None = typer.Argument(None, help="Backup file (default: the newest)."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Restore a backup into a scratch database and compare every table's row count."""
    from pipeline.backups.jobs import alert_verify_failed

    with cli_runtime("cli", data_dir, need_broker=False, pool_size=1) as runtime:
        backup = _pick(backup_dir(runtime.settings), file)
        try:
            result = verify(runtime.services.database_url, backup)
        except BackupError as exc:
            alert_verify_failed(runtime.sessions, runtime.deps, exc)
            typer.echo(f"verify FAILED: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"verified {backup.path.name}: {result.tables} tables, {result.rows} rows match")


@app.command("restore")
def restore_cmd(
    file: Path | None = typer.Argument(None, help="Backup file (default: the newest)."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Restore into this database instead of DATABASE_URL."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before overwriting."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Restore a backup, replacing the database's contents. Stop workers first."""
    services = prepare("cli", data_dir, need_broker=False)
    try:
        backup = _pick(backup_dir(get_settings()), file)
        target = database_url or services.database_url
        if not yes:
            typer.confirm(
                f"Overwrite the database with {backup.path.name}? Everything since is lost.",
                abort=True,
            )
        try:
            restore(target, backup, progress=_progress)
        except BackupError as exc:
            typer.echo(f"restore FAILED: {exc}", err=True)
            raise typer.Exit(1) from exc
    finally:
        services.stop_started()
    typer.echo(f"restored {backup.path.name}")
