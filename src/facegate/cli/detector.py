"""``facegate detector``: train, evaluate and install face detectors."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facegate.bench.detection import (
    DetectionReport,
    EvaluatedDetector,
    compare,
    evaluate_detector,
    hog_for_evaluation,
    plot_pr,
    yunet_for_evaluation,
)
from facegate.bench.report import atomic_write, require_plotting, write_json
from facegate.cli.bench import bench_app
from facegate.cli.bench_detector import register_bench
from facegate.cli.context import get, progress_bar
from facegate.cli.detector_install import register_install
from facegate.cli.detector_train import register_train
from facegate.errors import MissingDependencyError
from facegate.vision.rcnn.annotations import AnnotationFormat, read_annotations
from facegate.vision.stages import Detector

detector_app = typer.Typer(help="Face detectors: evaluate (and train) them.", no_args_is_help=True)

METRICS_FILE = "metrics.json"
PER_IMAGE_FILE = "per_image.json"
PR_PLOT_FILE = "pr.png"
REPORT_FILE = "report.md"


def _detector(choice: EvaluatedDetector, model: Path | None) -> Detector:
    if choice is not EvaluatedDetector.RCNN and model is not None:
        raise typer.BadParameter("--model applies to --detector rcnn only", param_hint="--model")
    if choice is EvaluatedDetector.HOG:
        return hog_for_evaluation()
    if choice is EvaluatedDetector.YUNET:
        return yunet_for_evaluation()
    if model is None:
        raise typer.BadParameter("--detector rcnn needs --model PATH", param_hint="--model")
    try:
        from facegate.vision.rcnn.detector import RcnnDetector
    except ImportError as e:
        raise MissingDependencyError(
            f"--detector rcnn needs torch and torchvision: install facegate[rcnn] ({e})"
        ) from e
    return RcnnDetector.from_file(model)


@detector_app.command("eval")
def eval_command(
    ctx: typer.Context,
    annotations: Annotated[
        Path,
        typer.Argument(
            help="Annotations: a folder of VOC .xml files, a CSV of boxes, or WIDER FACE's "
            "wider_face_*_bbx_gt.txt."
        ),
    ],
    fmt: Annotated[
        AnnotationFormat, typer.Option("--format", help="Format of ANNOTATIONS.")
    ] = AnnotationFormat.VOC,
    images: Annotated[
        Path | None,
        typer.Option(help="Image folder (required for voc and wider; csv: the CSV's folder)."),
    ] = None,
    detector: Annotated[
        EvaluatedDetector,
        typer.Option(help="Detector to evaluate (yunet: the sface engine's detector)."),
    ] = EvaluatedDetector.HOG,
    model: Annotated[
        Path | None, typer.Option(help="Exported weights file for --detector rcnn.")
    ] = None,
    out: Annotated[
        Path,
        typer.Option(
            help=f"Folder for {METRICS_FILE}, {PER_IMAGE_FILE}, {PR_PLOT_FILE}, {REPORT_FILE}."
        ),
    ] = Path("artifacts/detector/eval"),
) -> None:
    """AP at IoU 0.5 (Pascal VOC) and AP@[.5:.95] (COCO) of a detector on annotated faces,
    its precision-recall curve and per-image results. Every box whose label maps to "face" is
    a face to find; one metric code scores every detector, so runs on the same annotations
    compare fairly.
    """
    context = get(ctx)
    require_plotting()  # fail before the run, not after it
    if fmt is not AnnotationFormat.CSV and images is None:
        raise typer.BadParameter(f"--format {fmt.value} needs --images DIR", param_hint="--images")
    chosen = _detector(detector, model)
    dataset = read_annotations(fmt, annotations, images_dir=images)
    resolved = annotations.resolve()
    name = f"{resolved.parent.name}/{resolved.name}"  # "mask_set/annotations", not "annotations"
    with progress_bar(context) as progress:
        task = progress.add_task(f"{detector.value} on {name}", total=len(dataset))
        report = evaluate_detector(
            chosen, dataset, name=detector.value, on_image=lambda: progress.advance(task)
        )
    command = ["facegate", "detector", "eval", str(annotations), "--format", fmt.value]
    if images is not None:
        command += ["--images", str(images)]
    command += ["--detector", detector.value]
    if model is not None:
        command += ["--model", str(model)]
    _write_outputs(report, out, name, shlex.join(command))
    summary = (
        f"{report.detector} on {name}: {report.n_images} images, {report.n_faces} faces, "
        f"{report.n_detections} detections\n"
        f"AP@0.5 {report.ap50:.4f}   AP@[.5:.95] {report.ap_coco:.4f}   "
        f"median {report.median_seconds_per_image * 1000:.1f} ms/image\n"
        f"wrote {out / METRICS_FILE}, {PER_IMAGE_FILE}, {PR_PLOT_FILE}, {REPORT_FILE}"
    )
    context.emit(
        {
            "detector": report.detector,
            "ap50": report.ap50,
            "ap_coco": report.ap_coco,
            "n_images": report.n_images,
            "n_faces": report.n_faces,
            "out": str(out),
        },
        escape(summary),
    )


def _write_outputs(report: DetectionReport, out: Path, dataset: str, command: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_json(
        {"annotations": dataset, "command": command, **report.to_json()},
        out / METRICS_FILE,
    )
    write_json(report.per_image_json(), out / PER_IMAGE_FILE)
    plot_pr([report], out / PR_PLOT_FILE, f"{report.detector} on {dataset}")
    text = (
        f"# Face detection: {report.detector} on {dataset}\n\n"
        f"{compare([report])}\n\n"
        f"AP@0.5 is Pascal VOC's all-point AP; AP@[.5:.95] is COCO's 101-point AP averaged "
        f"over IoU 0.50:0.05:0.95.\n\nCommand: `{command}`\n"
    )
    atomic_write(out / REPORT_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def register(app: typer.Typer) -> None:
    register_train(detector_app)
    register_bench(bench_app)
    register_install(detector_app)
    app.add_typer(detector_app, name="detector")
