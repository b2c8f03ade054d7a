"""``facegate bench detector``: the trained R-CNN against YuNet and HOG on held-out masked
faces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facegate.bench.detection import compare
from facegate.bench.report import require_plotting
from facegate.cli.context import get, progress_bar
from facegate.errors import MissingDependencyError
from facegate.vision.rcnn.pseudo import DEFAULT_TEACHER, Teacher


def bench_detector(
    ctx: typer.Context,
    mask_set: Annotated[
        Path, typer.Argument(help="face_mask_detection_subset: annotations/ (VOC) and images/.")
    ],
    extra: Annotated[
        list[Path] | None,
        typer.Option(help="More labelled training sets: a CSV of boxes, repeatable."),
    ] = None,
    unlabelled: Annotated[
        list[Path] | None,
        typer.Option(help="Folders of pictures to pseudo-label for training, repeatable."),
    ] = None,
    unlabelled_limit: Annotated[int, typer.Option(min=1)] = 100,
    teacher: Annotated[
        Teacher, typer.Option(help="Detector that pseudo-labels --unlabelled pictures.")
    ] = DEFAULT_TEACHER,
    steps: Annotated[int, typer.Option(min=1)] = 900,
    batch_size: Annotated[int, typer.Option(min=1)] = 4,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    max_minutes: Annotated[float | None, typer.Option(min=0.1)] = 50.0,
    resume: Annotated[bool, typer.Option(help="Continue the training in OUT/train.")] = False,
    out: Annotated[Path, typer.Option()] = Path("artifacts/bench/detector"),
) -> None:
    """Train on the mask set's training part, dlib's PASCAL faces and pseudo-labels, then
    score YuNet, HOG and the R-CNN on the held-out third of the mask set (AP@0.5,
    AP@[.5:.95])."""
    context = get(ctx)
    require_plotting()
    try:
        from facegate.bench.detector_bench import run_detector_bench
    except ImportError as exc:
        raise MissingDependencyError("bench detector needs torch: install facegate[rcnn]") from exc
    with progress_bar(context) as progress:
        bench = run_detector_bench(
            mask_set,
            extra or [],
            unlabelled or [],
            out,
            progress,
            steps=steps,
            batch_size=batch_size,
            seed=seed,
            max_minutes=max_minutes,
            unlabelled_limit=unlabelled_limit,
            teacher=teacher,
            resume=resume,
        )
    context.emit(
        {"detector": bench.to_json()},
        escape(
            f"{compare(bench.reports)}\n\nR-CNN trained {bench.steps_done} steps in "
            f"{bench.training_seconds / 60:.1f} min on {bench.device}\nwrote {out}"
        ),
    )


def register_bench(app: typer.Typer) -> None:
    app.command("detector")(bench_detector)
