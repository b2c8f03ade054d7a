"""``compliance report``: the rule matrix from the last test run and the live site (R-33)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facegate.cli.context import get
from facegate.privacy.compliance import (
    DEFAULT_REPORT_DIR,
    RuleStatus,
    build_report,
    git_revision,
    live_label,
    status_label,
    write_report,
)
from facegate.privacy.live import LiveStatus, check_site
from facegate.privacy.run_results import DEFAULT_RESULTS_PATH, RESULTS_ENV, read_run

compliance_app = typer.Typer(
    help="Compliance with the face-recognition rules (R-01…R-33).", no_args_is_help=True
)

#: Exit code of ``--strict`` when a rule is failing or untested.
STRICT_FAILURE_EXIT = 1

_STATUS_STYLE = {
    RuleStatus.PROVEN: "green",
    RuleStatus.FAILING: "bold red",
    RuleStatus.UNTESTED: "yellow",
}
_LIVE_STYLE = {
    LiveStatus.OK: "green",
    LiveStatus.ATTENTION: "bold red",
    LiveStatus.NOT_CONFIGURED: "yellow",
    LiveStatus.NOT_APPLICABLE: "dim",
}


@compliance_app.command("report")
def report(
    ctx: typer.Context,
    site: Annotated[str, typer.Option("--site", help="Site (community) code to check live.")],
    results: Annotated[
        Path | None,
        typer.Option(
            help=f"Rule-results JSON of the last test run (default: ${RESULTS_ENV} or "
            f"{DEFAULT_RESULTS_PATH})."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Directory for compliance-report.md and .html.")
    ] = DEFAULT_REPORT_DIR,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any rule is failing or untested.")
    ] = False,
) -> None:
    """Write the compliance matrix: each rule's mechanism, tests, result and live status."""
    context = get(ctx)
    results_path = results or Path(os.environ.get(RESULTS_ENV) or DEFAULT_RESULTS_PATH)
    run = read_run(results_path)
    with context.store() as store:
        live = check_site(store, site)
    built = build_report(run, live, results_path=results_path, git_rev=git_revision())
    markdown, page = write_report(built, out)
    if context.as_json:
        context.emit({"report": built, "files": {"markdown": markdown, "html": page}}, "")
    else:
        table = Table("rule", "title", "status", "tests", "live")
        for entry in built.entries:
            live_style = _LIVE_STYLE[entry.live_status] if entry.live_status else "dim"
            table.add_row(
                entry.rule.id.value,
                Text(entry.rule.title),
                Text(status_label(entry.status), style=_STATUS_STYLE[entry.status]),
                Text(entry.status_note),
                Text(live_label(entry.live_status), style=live_style),
            )
        context.console.print(table)
        for note in built.notes:
            context.console.print(f"[yellow]note:[/] {escape(note)}")
        counts = ", ".join(
            f"{built.count(status)} {status_label(status).lower()}" for status in RuleStatus
        )
        context.console.print(
            f"{len(built.entries)} rules: {counts}. Wrote {escape(str(markdown))} and "
            f"{escape(str(page))}"
        )
    if strict and not built.all_proven:
        raise typer.Exit(STRICT_FAILURE_EXIT)


def register(app: typer.Typer) -> None:
    app.add_typer(compliance_app, name="compliance")
