"""``facegate bench import``: the resident CSV import and the console's list at N residents."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from facegate.bench.report import write_json
from facegate.bench.resident_import import FIXED_STEPS, ImportBenchResult, run_import_bench
from facegate.cli.context import get, progress_bar
from facegate.store.resident_csv import MAX_IMPORT_ROWS

#: One file per seed, so runs with different seeds sit side by side.
REPORT_FILE = "import-seed{seed}.json"
MAX_ROWS = MAX_IMPORT_ROWS


def _tables(result: ImportBenchResult) -> tuple[Table, Table]:
    steps = Table(title=f"facegate bench import: {result.rows:,} residents")
    for column in ("step", "seconds", "detail"):
        steps.add_column(column, justify="right" if column == "seconds" else "left")
    steps.add_row(
        "dry run (check every row)", f"{result.dry_run_s:.2f}", f"{result.file_bytes:,} bytes"
    )
    steps.add_row(
        "import (one transaction)",
        f"{result.import_s:.2f}",
        f"{result.imported:,} imported, {result.rows_per_s:,.0f} rows/s",
    )
    steps.add_row("export CSV", f"{result.export_s:.2f}", f"{result.export_bytes:,} bytes")
    steps.add_row(
        "audit chain",
        "",
        f"{result.audit_events:,} events, {'intact' if result.audit_ok else 'BROKEN'}",
    )
    queries = Table(title=f"list queries at {result.rows:,} (median of {result.repeats})")
    for column in ("query", "median ms", "max ms", "matches"):
        queries.add_column(column, justify="left" if column == "query" else "right")
    for q in result.queries:
        queries.add_row(q.name, f"{q.median_ms:.1f}", f"{q.max_ms:.1f}", f"{q.total:,}")
    return steps, queries


def bench_import(
    ctx: typer.Context,
    rows: Annotated[
        int, typer.Option(min=1, max=MAX_ROWS, help="Residents in the generated CSV.")
    ] = 20_000,
    repeats: Annotated[
        int, typer.Option(min=1, max=100, help="Runs of each list query (median reported).")
    ] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Seeds the generated residents.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder for import-seed<N>.json.")] = Path(
        "artifacts/bench"
    ),
) -> None:
    """Generate N residents as CSV, time a dry run and a real import into a fresh temporary
    store, and the console's list (pages, search, filters) at that size."""
    context = get(ctx)
    with progress_bar(context) as progress:
        task = progress.add_task("import bench", total=FIXED_STEPS + repeats)
        result = run_import_bench(
            rows,
            repeats=repeats,
            seed=seed,
            on_step=lambda name: progress.update(task, advance=1, description=name),
        )
    document = {"command": shlex.join(["facegate", *context.argv]), "result": result}
    path = write_json(document, out / REPORT_FILE.format(seed=seed))
    if context.as_json:
        context.emit({**document, "path": str(path)}, "")
        return
    for table in _tables(result):
        context.console.print(table)
    context.console.print(escape(f"wrote {path}"))


def register_bench(app: typer.Typer) -> None:
    app.command("import")(bench_import)
