"""`pipeline staff …` and `pipeline apikeys …`: accounts and keys of the operator API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from cli.common import DataDirOption
from cli.runtime import cli_runtime
from pipeline.unit_of_work import UnitOfWork, unit_of_work

staff_app = typer.Typer(help="Staff accounts of the operator API.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys of the operator API.", no_args_is_help=True)


@contextmanager
def _unit_of_work(data_dir: Path | None) -> Iterator[UnitOfWork]:
    """The command's runtime (no broker: these commands send no task) and one unit of
    work on it."""
    with (
        cli_runtime("cli", data_dir, need_broker=False, pool_size=1) as runtime,
        unit_of_work(runtime.sessions, runtime.deps) as uow,
    ):
        yield uow


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


@staff_app.command("add")
def add(
    email: str,
    role: str = typer.Option("viewer", help="viewer, operator or admin."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Create a staff account; it logs in by e-mail code or OAuth with this address."""
    from pipeline.auth import staff

    try:
        with _unit_of_work(data_dir) as uow:
            row = staff.add_staff(uow.session, email, role)
            typer.echo(f"staff {row.id}: {row.email} ({row.role})")
    except staff.StaffError as exc:
        raise _fail(f"staff: {exc}") from None


@staff_app.command("list")
def list_staff(
    as_json: bool = typer.Option(False, "--json"), data_dir: Path | None = DataDirOption
) -> None:
    """List staff accounts."""
    from pipeline.auth import staff

    with _unit_of_work(data_dir) as uow:
        rows = [
            {"id": r.id, "email": r.email, "role": r.role, "active": r.active}
            for r in staff.list_staff(uow.session)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = "" if row["active"] else "  (inactive)"
        typer.echo(f"{row['id']:>5}  {row['email']}  {row['role']}{state}")


@staff_app.command("set")
def set_staff(
    email: str,
    role: str | None = typer.Option(None, help="New role: viewer, operator or admin."),
    active: bool | None = typer.Option(None, "--active/--inactive", help="(De)activate."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Change an account's role, or deactivate it (which ends all its sessions)."""
    from pipeline.auth import staff

    try:
        with _unit_of_work(data_dir) as uow:
            row = staff.find_by_email(uow.session, email)
            if row is None:
                raise _fail(f"staff: no account {email}")
            staff.update_staff(uow.session, row, role=role, active=active)
            typer.echo(
                f"staff {row.id}: {row.email} ({row.role}{'' if row.active else ', inactive'})"
            )
    except staff.StaffError as exc:
        raise _fail(f"staff: {exc}") from None


@apikeys_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="What the key is for."),
    scope: list[str] = typer.Option(..., "--scope", help="A scope; repeat for several."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Create an API key. The key is printed once: store it now."""
    from pipeline.auth import apikeys
    from pipeline.auth.permissions import UnknownScope

    try:
        with _unit_of_work(data_dir) as uow:
            created = apikeys.create_key(uow.session, name, scope)
            key_id = created.row.id
    except (UnknownScope, ValueError) as exc:
        raise _fail(f"apikeys: {exc}") from None
    typer.echo(f"api key {key_id} ({', '.join(sorted(set(scope)))}); shown once:", err=True)
    typer.echo(created.key)


@apikeys_app.command("list")
def list_keys(
    include_revoked: bool = typer.Option(False, "--all", help="Also revoked keys."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """List API keys (never the keys themselves)."""
    from pipeline.auth import apikeys

    with _unit_of_work(data_dir) as uow:
        for row in apikeys.list_keys(uow.session, include_revoked=include_revoked):
            used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
            revoked = "  REVOKED" if row.revoked_at else ""
            typer.echo(
                f"{row.id:>5}  pk_{row.prefix}_…  {row.name}  [{' '.join(row.scopes)}]  "
                f"last used {used}{revoked}"
            )


@apikeys_app.command("revoke")
def revoke(key_id: int, data_dir: Path | None = DataDirOption) -> None:
    """Revoke an API key: it stops working at once."""
    from pipeline.auth import apikeys

    with _unit_of_work(data_dir) as uow:
        if apikeys.revoke_key(uow.session, key_id) is None:
            raise _fail(f"apikeys: no key {key_id}")
    typer.echo(f"api key {key_id}: revoked")
