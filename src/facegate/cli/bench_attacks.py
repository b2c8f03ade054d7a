"""``facegate bench attacks``: face swaps, animated photos and replays against a gate."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facegate.bench.datasets import read_labelled_folder
from facegate.bench.report import atomic_write, write_json
from facegate.cli.context import get, progress_bar
from facegate.matching import OperatingPoint, operating_point

REPORT_FILE = "attacks.json"
TABLE_FILE = "attacks.md"
CALIBRATION_FILE = "calibration.json"
CALIBRATION_TABLE = "calibration.md"


def bench_attacks(
    ctx: typer.Context,
    lfw: Annotated[
        Path, typer.Argument(help="Labelled photos, several per person (LFW: labels.csv).")
    ],
    nuaa: Annotated[
        Path, typer.Option(help="NUAA Photo Imposter folder: live webcam frames.")
    ] = Path("../shared/data/nuaa_photo_imposter_subset"),
    out: Annotated[Path, typer.Option(help="Output folder for JSON and Markdown.")] = Path(
        "artifacts/bench/attacks"
    ),
    limit: Annotated[
        int | None,
        typer.Option(min=2, help="Use this many victims of the report split (drawn with --seed)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds victims, challenges, swaps, noise.")] = 0,
    point: Annotated[
        OperatingPoint, typer.Option(help="The door's operating point.")
    ] = OperatingPoint.FMR_1E4,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="Instead: set the swap check's thresholds on the development split's "
            "genuine frames (and survey the replay hash's distances)."
        ),
    ] = False,
    deepface: Annotated[
        Path | None,
        typer.Option(help="With --calibrate: labelled deepface photos (other cameras, looks)."),
    ] = None,
) -> None:
    """How many face swaps, animated photos and replayed answers open a gate, at the
    passive and passive_active levels, before and after the swap and replay defences."""
    # scikit-image (sequences) is slow to import: only this command needs it
    from facegate.bench.attacks import (
        calibrate as run_calibration,
    )
    from facegate.bench.attacks import (
        calibration_report,
        markdown_report,
        run_attack_bench,
    )

    context = get(ctx)
    images = read_labelled_folder(lfw)
    others = read_labelled_folder(deepface) if deepface is not None else []
    pipeline = context.pipeline
    command = shlex.join(["facegate", *context.argv])
    if calibrate:
        with progress_bar(context) as progress:
            calibration = run_calibration(
                images, nuaa, pipeline, deepface=others, seed=seed, progress=progress
            )
        text = calibration_report(calibration, command)
        json_path = write_json(
            {"command": command, "calibration": calibration}, out / CALIBRATION_FILE
        )
        atomic_write(out / CALIBRATION_TABLE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        context.emit(
            {"command": command, "report": str(json_path), "calibration": calibration},
            escape(f"{text}\nwrote {json_path}"),
        )
        return
    threshold = operating_point(context.registry.entry(pipeline.embedding_model), point).threshold
    with progress_bar(context) as progress:
        result = run_attack_bench(
            images,
            nuaa,
            pipeline,
            context.registry,
            threshold=threshold,
            operating_point=point.value,
            limit=limit,
            seed=seed,
            progress=progress,
        )
    report = markdown_report(result, command)
    json_path = write_json({"command": command, "bench": result}, out / REPORT_FILE)
    md_path = atomic_write(out / TABLE_FILE, lambda tmp: tmp.write_text(report, encoding="utf-8"))
    context.emit(
        {"command": command, "report": str(json_path), "bench": result},
        escape(f"{report}\nwrote {json_path} and {md_path}"),
    )


def register_bench(app: typer.Typer) -> None:
    app.command("attacks")(bench_attacks)
