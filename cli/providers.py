"""`pipeline providers list`: every provider, its route, whether it is set up, what it checks."""

from __future__ import annotations

import json

import typer

from cli.common import settings
from pipeline.providers.registry import build_registry
from pipeline.providers.status import describe

app = typer.Typer(help="Webhook providers.", no_args_is_help=True)


@app.command("list")
def list_providers(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List the registered providers (built-in and plugins)."""
    rows = [describe(p) for p in sorted(build_registry(settings()), key=lambda p: p.name)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    head = f"{'PROVIDER':<14} {'ROUTE':<32} {'METHODS':<9} {'CONFIGURED':<10} {'EXPOSURE':<9}"
    typer.echo(f"{head}  VERIFIES")
    for row in rows:
        configured = "yes" if row["configured"] else "no"
        methods = ",".join(row["methods"])
        line = f"{row['name']:<14} {row['route']:<32} {methods:<9} {configured:<10}"
        note = f" ({row['exposure_note']})" if row.get("exposure_note") else ""
        typer.echo(f"{line} {row['exposure']:<9}  {row['verifies']}{note}")
