"""``facegate detector train``: a site trains its own face detector."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facegate.bench.report import require_plotting, write_json
from facegate.cli.context import get, progress_bar
from facegate.errors import MissingDependencyError
from facegate.models.registry import sha256_of
from facegate.vision.rcnn.config import Backbone, RcnnConfig
from facegate.vision.rcnn.inspection import inspect_annotations
from facegate.vision.rcnn.pseudo import DEFAULT_TEACHER, TEACHER_THRESHOLDS, Teacher
from facegate.vision.rcnn.sources import Source, gather

WEIGHTS_NAME = "weights.pt"
_TEACHER_CUTS = ", ".join(f"{t.value} {c.min_score}" for t, c in TEACHER_THRESHOLDS.items())
TRAINING_REPORT = "training.json"
LOSS_PLOT = "loss.png"
#: Flagged picture names printed on the console; the report lists all of them.
_FLAGGED_SHOWN = 5


def train_command(
    ctx: typer.Context,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            "-d",
            help="FORMAT:ANNOTATIONS[:IMAGES], repeatable. voc:DIR (images in DIR/../images), "
            "csv:FILE, wider:FILE:IMAGES.",
        ),
    ] = None,
    unlabelled: Annotated[
        list[Path] | None,
        typer.Option(help="Folder of unlabelled pictures to pseudo-label, repeatable."),
    ] = None,
    teacher: Annotated[
        Teacher, typer.Option(help="Detector that pseudo-labels --unlabelled pictures.")
    ] = DEFAULT_TEACHER,
    unlabelled_limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many pictures from each folder.")
    ] = None,
    pseudo_min_score: Annotated[
        float | None,
        typer.Option(help=f"Teacher's score a pseudo-label needs (default: {_TEACHER_CUTS})."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for weights, checkpoint and report.")] = Path(
        "artifacts/detector"
    ),
    steps: Annotated[int, typer.Option(min=1)] = 1000,
    batch_size: Annotated[int, typer.Option(min=1)] = 4,
    learning_rate: Annotated[float, typer.Option(min=1e-7)] = 1e-3,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
    backbone: Annotated[Backbone, typer.Option()] = Backbone.MOBILENET_V3_LARGE_FPN,
    resume: Annotated[bool, typer.Option(help="Continue from OUT/checkpoint.pt.")] = False,
    checkpoint_every: Annotated[int, typer.Option(min=1)] = 100,
    max_minutes: Annotated[
        float | None, typer.Option(min=0.1, help="Stop (with a checkpoint) after this long.")
    ] = None,
    keep_flagged: Annotated[
        bool,
        typer.Option(
            help="Train on labelled pictures where YuNet finds a face with no box (a poisoning "
            "sign, or a missed annotation); they are left out by default and always reported."
        ),
    ] = False,
) -> None:
    """Train the Faster R-CNN face detector from scratch; write OUT/weights.pt and a report.

    Deterministic for a given seed on a CPU, including across --resume. Install the result
    for serving with ``facegate detector install OUT/weights.pt``.
    """
    context = get(ctx)
    require_plotting()
    try:
        from facegate.vision.rcnn.data import preload
        from facegate.vision.rcnn.train import Device, StepLog, TrainSettings, train
        from facegate.vision.rcnn.weights import export_weights
    except ImportError as exc:
        raise MissingDependencyError("training needs torch: install facegate[rcnn]") from exc
    from facegate.bench.loss_plot import plot_loss

    sources = [Source.parse(text) for text in dataset or []]
    settings = TrainSettings(
        steps=steps, batch_size=batch_size, learning_rate=learning_rate, seed=seed
    )
    config = RcnnConfig.for_backbone(backbone)
    with progress_bar(context) as progress:
        labelling = progress.add_task("pseudo-labels", total=None, visible=bool(unlabelled))
        training_set = gather(
            sources,
            unlabelled or [],
            unlabelled_limit=unlabelled_limit,
            teacher=teacher,
            min_score=pseudo_min_score,
            on_image=lambda: progress.advance(labelling),
        )
        # Pseudo-labels come from YuNet itself: only the site's own annotations are checked.
        pseudo = [] if training_set.pseudo is None else training_set.pseudo.images
        labelled = training_set.images[: len(training_set.images) - len(pseudo)]
        checking = progress.add_task("annotation check", total=len(labelled))
        inspection = inspect_annotations(labelled, on_image=lambda: progress.advance(checking))
        images = training_set.images if keep_flagged else [*inspection.kept, *pseudo]
        loading = progress.add_task("images", total=len(images))
        samples = preload(images, lambda: progress.advance(loading))
        stepping = progress.add_task("training", total=steps)

        def on_step(log: StepLog) -> None:
            description = f"training loss {log.total:.3f}"
            progress.update(stepping, completed=log.step, description=description)

        result = train(
            samples,
            config,
            settings,
            out,
            device=Device(device),
            resume=resume,
            checkpoint_every=checkpoint_every,
            max_seconds=None if max_minutes is None else max_minutes * 60,
            on_step=on_step,
        )
    weights = export_weights(result.model, config, out / WEIGHTS_NAME)
    digest = sha256_of(weights)
    plot_loss(
        [log.step for log in result.history],
        [log.losses for log in result.history],
        out / LOSS_PLOT,
    )
    report = {
        "weights": str(weights),
        "sha256": digest,
        "size_bytes": weights.stat().st_size,
        "steps_done": result.steps_done,
        "stopped_early": result.stopped_early,
        "training_seconds": round(result.seconds, 1),
        "device": result.device,
        "images": training_set.counts,
        "faces": int(sum(len(s.boxes) for s in samples)),
        "annotation_check": {
            **inspection.to_json(),
            "excluded": 0 if keep_flagged else len(inspection.flagged),
        },
        "pseudo_labels": None
        if training_set.pseudo is None
        else {**training_set.pseudo.to_json(), "unreadable": training_set.pseudo.unreadable},
        "settings": settings,
        "config": config.to_dict(),
        "first_loss": result.history[0].total if result.history else None,
        "last_loss": result.history[-1].total if result.history else None,
        "command": shlex.join(["facegate", *sys.argv[1:]]),
    }
    write_json(report, out / TRAINING_REPORT)
    context.emit(
        report,
        escape(
            f"trained {result.steps_done} steps in {result.seconds / 60:.1f} min on {result.device}"
            + (" (stopped at --max-minutes; --resume continues)" if result.stopped_early else "")
            + f"\nwrote {weights}\nsha256 {digest}\nloss curve {out / LOSS_PLOT}"
            + _flagged_note(inspection.flagged_paths, keep_flagged)
        ),
    )


def _flagged_note(flagged: frozenset[Path], kept: bool) -> str:
    if not flagged:
        return ""
    action = "trained on anyway (--keep-flagged)" if kept else "left out of training"
    names = ", ".join(sorted(p.name for p in flagged)[:_FLAGGED_SHOWN])
    more = f" and {len(flagged) - _FLAGGED_SHOWN} more" if len(flagged) > _FLAGGED_SHOWN else ""
    return (
        f"\nannotation check: {len(flagged)} picture(s) show a face with no box, {action}: "
        f"{names}{more} (see {TRAINING_REPORT}: annotation_check)"
    )


def register_train(app: typer.Typer) -> None:
    app.command("train")(train_command)
