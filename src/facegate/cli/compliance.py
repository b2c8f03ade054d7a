"""``compliance report``: the rule matrix from the last test run and the live site (R-33);
``compliance freeze`` and ``compliance verify-release``: the release's shipped results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from facegate import __version__
from facegate.cli.context import fail, get
from facegate.errors import InvalidRecordError
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
from facegate.privacy.release_results import (
    FREEZE_COMMAND,
    RELEASE_RESULTS_PATH,
    ReleaseState,
    freeze,
    load_release,
    release_results_path,
    tests_sha256,
    write_release,
)
from facegate.privacy.run_results import DEFAULT_RESULTS_PATH, RESULTS_ENV, read_run
from facegate.store.schema import utcnow

compliance_app = typer.Typer(
    help="Compliance with the face-recognition rules (R-01…R-33).", no_args_is_help=True
)

#: Exit code of ``--strict`` when a rule is failing or untested.
STRICT_FAILURE_EXIT = 1
#: Exit code of ``verify-release`` when the shipped results are not VERIFIED.
RELEASE_FAILURE_EXIT = 1

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
    release: Annotated[
        bool,
        typer.Option(
            "--release",
            help="Use the rule results shipped with this release (as the console does), "
            "not a local test run: for a deployed site.",
        ),
    ] = False,
) -> None:
    """Write the compliance matrix: each rule's mechanism, tests, result and live status."""
    context = get(ctx)
    if release:
        results_path = release_results_path()
        shipped, run = load_release(results_path), None
    else:
        results_path = results or Path(os.environ.get(RESULTS_ENV) or DEFAULT_RESULTS_PATH)
        shipped, run = None, read_run(results_path)
    with context.store() as store:
        live = check_site(store, site)
    built = build_report(
        run,
        live,
        results_path=results_path,
        git_rev=None if release else git_revision(),
        release=shipped,
    )
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


@compliance_app.command("freeze")
def freeze_release(
    ctx: typer.Context,
    results: Annotated[
        Path | None,
        typer.Option(
            help=f"Rule-results JSON of the full test run (default: ${RESULTS_ENV} or "
            f"{DEFAULT_RESULTS_PATH})."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Where to write the release results (default: the package's).")
    ] = RELEASE_RESULTS_PATH,
    revision: Annotated[
        str | None,
        typer.Option(help="Git revision the run tested (default: this checkout's)."),
    ] = None,
) -> None:
    """Freeze a test run's rule results into the file shipped with the release, hashed."""
    context = get(ctx)
    results_path = results or Path(os.environ.get(RESULTS_ENV) or DEFAULT_RESULTS_PATH)
    run = read_run(results_path)
    if run is None:
        raise fail(
            context,
            InvalidRecordError(f"no rule results at {results_path}: run the tests first"),
        )
    # The tests' paths in the results are relative to the directory pytest ran in.
    content = freeze(
        run,
        facegate_version=__version__,
        git_revision=revision or git_revision(),
        frozen_at=utcnow(),
        tests_digest=tests_sha256(Path.cwd(), run),
    )
    written = write_release(content, out)
    statuses = [rule["status"] for rule in content["rules"]]
    proven = statuses.count(RuleStatus.PROVEN.value)
    context.emit(
        {"path": str(written), "sha256": content["sha256"], "proven": proven},
        escape(f"{proven} of {len(statuses)} rules proven; wrote {written}")
        + f" (sha256 {content['sha256']})",
    )


@compliance_app.command("verify-release")
def verify_release(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Option(help="Release results to check (default: the package's).")
    ] = RELEASE_RESULTS_PATH,
) -> None:
    """Check the shipped release results: intact (SHA-256) and made for these rules."""
    context = get(ctx)
    release = load_release(path)
    problem = release.problem or ""
    human = f"release results {release.state.value} (sha256 {release.sha256 or 'none'})"
    if release.state is ReleaseState.STALE:
        human += f": {problem}. Regenerate them with `{FREEZE_COMMAND}`."
    elif release.problem:
        human += f": {problem}"
    context.emit(
        {"state": release.state.value, "sha256": release.sha256, "problem": release.problem},
        escape(human),
    )
    if release.state is not ReleaseState.VERIFIED:
        raise typer.Exit(RELEASE_FAILURE_EXIT)


def register(app: typer.Typer) -> None:
    app.add_typer(compliance_app, name="compliance")
