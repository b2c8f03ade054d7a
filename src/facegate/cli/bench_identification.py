"""``facegate bench identification``: open-set 1:N on a labelled folder (FNIR at FPIR)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from facegate.bench.acquire import acquire_all, pipeline_acquirer
from facegate.bench.datasets import read_labelled_folder
from facegate.bench.identification import (
    IdentificationReport,
    run_identification,
    split_identities,
)
from facegate.bench.report import plot_det_curves, require_plotting, to_jsonable, write_json
from facegate.cli.context import get, progress_bar
from facegate.core.config import Engine
from facegate.vision.pipeline import Selection

REPORT_FILE = "identification.json"
PLOT_FILE = "identification_det.png"


def _table(report: IdentificationReport, title: str) -> Table:
    table = Table(title=title)
    columns = ("photos", "gallery", "left out", "mated", "strangers", "FPIR", "measured")
    for column in (*columns, "FNIR", "threshold", "rank-1"):
        table.add_column(column, justify="right")
    for row in report.results:
        table.add_row(
            str(row.templates_per_person),
            f"{row.gallery_people:,}",
            str(row.people_left_out),
            f"{row.n_mated:,}",
            f"{row.n_nonmated:,}",
            f"{row.fpir:g}" + ("" if row.resolvable else " (too few)"),
            f"{row.fpir_measured:.2%}",
            f"{row.fnir:.2%}",
            f"{row.threshold:.4f}",
            f"{row.rank1:.2%}",
        )
    return table


def bench_identification(
    ctx: typer.Context,
    labelled: Annotated[
        Path, typer.Argument(help="Labelled folder (one sub-folder per person, or labels.csv).")
    ],
    out: Annotated[Path, typer.Option(help="Output folder for JSON and PNG.")] = Path(
        "artifacts/bench/identification"
    ),
    seed: Annotated[int, typer.Option(min=0, help="Seeds the split and the enrolled photos.")] = 0,
    selection: Annotated[
        Selection, typer.Option(help="Which face is the subject.")
    ] = Selection.CENTRAL,
    engine: Annotated[
        Engine | None, typer.Option(help="Recognition engine; default: the configured one.")
    ] = None,
) -> None:
    """Open-set 1:N: FNIR at FPIR 0.1 / 0.01 and rank-1, with 1 and 3 photos per person.

    Half the people are enrolled, the other half only come as strangers (seeded split);
    each image is embedded once.
    """
    context = get(ctx)
    require_plotting()
    pipeline = context.pipeline if engine is None else context.pipeline_for(engine)
    images = read_labelled_folder(labelled)
    split = split_identities(images, seed)  # before the long part: enough people?
    with progress_bar(context) as progress:
        acquired = acquire_all(
            [im.path for im in images],
            pipeline_acquirer(pipeline, selection),
            "embedding",
            progress,
        )
    report = run_identification(images, acquired, split, seed)
    command = shlex.join(["facegate", *context.argv])
    document = {
        "command": command,
        "dataset": str(labelled),
        "embedding_model": pipeline.embedding_model,
        "engine": (engine or context.settings.engine).value,
        **to_jsonable(report),  # the curves stay in the plot
    }
    json_path = write_json(document, out / REPORT_FILE)
    curves = {
        f"{count} photo{'s' if count > 1 else ''} per person": c
        for count, c in report.curves.items()
    }
    png_path = plot_det_curves(
        curves,
        out / PLOT_FILE,
        f"{pipeline.embedding_model} 1:N, {labelled.resolve().name}",
        x_label="FPIR (false positive identification rate)",
        y_label="FNIR (false negative identification rate)",
    )
    if context.as_json:
        context.emit({**document, "report": str(json_path), "plot": str(png_path)}, "")
        return
    title = (
        f"{pipeline.embedding_model}: {report.enrolled_people} people enrolled, "
        f"{report.non_mated_people} strangers, {report.fta_images} of {report.images} "
        "images without a face"
    )
    context.console.print(_table(report, title))
    context.console.print(escape(f"wrote {json_path} and {png_path}"))


def register_bench(app: typer.Typer) -> None:
    app.command("identification")(bench_identification)
