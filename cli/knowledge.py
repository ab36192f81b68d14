"""`pipeline knowledge import FILE`: load FAQ entries the assistant answers from."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.runtime import cli_runtime

knowledge_app = typer.Typer(help="The FAQ the assistant answers from.", no_args_is_help=True)


@knowledge_app.command("import")
def import_entries(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .json or .csv file."),
) -> None:
    """Add or update FAQ entries: JSON list of {question, answer, language, tags, active}
    or CSV with those columns (tags separated by ';'). The same question in the same
    language updates its entry."""
    from pipeline.knowledge import store
    from pipeline.unit_of_work import unit_of_work

    try:
        items = store.read_file(path)
    except store.BadEntry as exc:
        raise typer.BadParameter(str(exc), param_hint="FILE") from exc
    with (
        cli_runtime("cli", need_broker=False, pool_size=1) as runtime,
        unit_of_work(runtime.sessions, runtime.deps) as uow,
    ):
        result = store.import_entries(uow.session, items)
    typer.echo(f"knowledge: {result.created} added, {result.updated} updated")
