"""``facegate bench first-decision``: the first 1:N decision after an enrollment or an
erasure at N enrolled people, against a full gallery rebuild."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from facegate.bench.first_decision import FirstDecisionResult, run_first_decision
from facegate.bench.report import write_json
from facegate.cli.context import get, progress_bar

REPORT_FILE = "first_decision.json"
#: The issue's target for the first decision after a change at 100,000 people.
TARGET_MS = 100.0


def _table(result: FirstDecisionResult) -> Table:
    table = Table(
        title=f"first decision after a change, {result.people:,} people "
        f"({result.templates:,} templates; target {TARGET_MS:g} ms)"
    )
    for column in ("after", "n", "median ms", "p90 ms", "max ms"):
        table.add_column(column, justify="left" if column == "after" else "right")
    for name, timing in (
        ("an enrollment", result.after_enrollment),
        ("an erasure", result.after_erasure),
        ("nothing, cache dropped (full rebuild)", result.full_rebuild),
    ):
        table.add_row(
            name,
            str(timing.n),
            f"{timing.median_ms:.1f}",
            f"{timing.p90_ms:.1f}",
            f"{timing.max_ms:.1f}",
        )
    return table


def bench_first_decision(
    ctx: typer.Context,
    people: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="People enrolled before the timing.")
    ] = 100_000,
    repeats: Annotated[
        int, typer.Option(min=1, max=1000, help="Enrollment + erasure rounds timed.")
    ] = 10,
    seed: Annotated[int, typer.Option(min=0, help="Seeds the synthetic embeddings.")] = 0,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder for the temporary store (default: /dev/shm if present)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder for first_decision.json.")] = Path(
        "artifacts/bench"
    ),
) -> None:
    """Enroll N people through the store, then time the first decision's gallery part
    (load_gallery + 1:N identify + explanation) after one more enrollment and after an
    erasure, against a full rebuild."""
    context = get(ctx)
    with progress_bar(context) as progress:
        task = progress.add_task("enrolling people", total=people)
        result = run_first_decision(
            people,
            repeats,
            seed=seed,
            data_dir=data_dir,
            on_person=lambda: progress.update(task, advance=1),
        )
    document = {"command": shlex.join(["facegate", *context.argv]), "result": result}
    path = write_json(document, out / REPORT_FILE)
    if context.as_json:
        context.emit({**document, "path": str(path)}, "")
        return
    context.console.print(_table(result))
    context.console.print(
        f"built in {result.build_s:,.1f} s ({result.build_per_person_ms:.1f} ms per person); "
        f"decisions correct: {result.decisions_correct}"
    )
    context.console.print(escape(f"wrote {path}"))


def register_bench(app: typer.Typer) -> None:
    app.command("first-decision")(bench_first_decision)
