"""`pipeline providers list`: every provider, its route, whether it is set up, what it checks."""

from __future__ import annotations

import json
from typing import Any

import typer

from pipeline.providers.base import Provider
from pipeline.providers.registry import build_registry
from pipeline.providers.unsigned import exposure

app = typer.Typer(help="Webhook providers.", no_args_is_help=True)


def route(provider: Provider) -> str:
    path = f"/webhooks/{provider.name}"
    kinds: tuple[str, ...] = getattr(provider, "kinds", ())
    return f"{path}/{{kind}}" if len(kinds) > 1 else path


def describe(provider: Provider) -> dict[str, Any]:
    try:
        configured = bool(provider.configured())
    except Exception:  # a broken plugin shows as unconfigured, not as a crash
        configured = False
    info: dict[str, Any] = {
        "name": provider.name,
        "route": route(provider),
        "methods": list(provider.methods),
        "configured": configured,
        "verifies": provider.verifies,
    }
    # Who can post: signed, guarded (allowlist / path token), open, or refused.
    exposed, note = exposure(provider)
    info["exposure"] = str(exposed)
    if note:
        info["exposure_note"] = note
    kinds = getattr(provider, "kinds", ())
    if len(kinds) > 1:
        info["kinds"] = list(kinds)
    return info


@app.command("list")
def list_providers(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List the registered providers (built-in and plugins)."""
    rows = [describe(p) for p in sorted(build_registry(), key=lambda p: p.name)]
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
