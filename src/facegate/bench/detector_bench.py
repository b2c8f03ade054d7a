"""``facegate bench detector``: train the R-CNN on the development sets, then compare it with
YuNet and HOG on held-out masked faces, in one run.

The mask set is split by a hash of each file name: a third is held out for evaluation and
never trained on. The R-CNN trains on the rest (repeated, so masked faces are about half of
what it sees), on dlib's PASCAL faces and on faces pseudo-labelled by a teacher (YuNet by
default) in unlabelled folders. All three detectors are scored by the same code on the same
held-out images.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import Progress

from facegate.bench.detection import (
    DetectionReport,
    EvaluatedDetector,
    compare,
    evaluate_detector,
    hog_for_evaluation,
    plot_pr,
    yunet_for_evaluation,
)
from facegate.bench.loss_plot import plot_loss
from facegate.bench.report import atomic_write, write_json
from facegate.errors import DatasetError
from facegate.models.registry import sha256_of
from facegate.vision.rcnn.annotations import AnnotatedImage, AnnotationFormat, read_annotations
from facegate.vision.rcnn.config import RcnnConfig
from facegate.vision.rcnn.pseudo import (
    DEFAULT_TEACHER,
    TEACHER_THRESHOLDS,
    PseudoLabels,
    Teacher,
)
from facegate.vision.rcnn.sources import Source, gather
from facegate.vision.stages import Detector

#: One file in this many (by name hash) is held out of training for evaluation.
HOLDOUT_EVERY = 3
#: Training copies of each training mask image: ~70 images against ~250 pseudo-labels.
MASK_REPEAT = 2
#: Unlabelled pictures taken from each folder for pseudo-labels.
DEFAULT_UNLABELLED_LIMIT = 100

BENCH_FILE = "detector.json"
REPORT_FILE = "report.md"
PR_PLOT = "pr.png"
LOSS_PLOT = "loss.png"
WEIGHTS_FILE = "weights.pt"


def is_held_out(image: AnnotatedImage) -> bool:
    """Fixed by the file name alone: the same split on every machine and every run."""
    return int(hashlib.sha256(image.path.name.encode("utf-8")).hexdigest(), 16) % HOLDOUT_EVERY == 0


@dataclass(slots=True)
class DetectorBench:
    training_images: dict[str, int]
    held_out_images: int
    held_out_faces: int
    steps_done: int
    training_seconds: float
    stopped_early: bool
    device: str
    weights_sha256: str
    reports: list[DetectionReport] = field(default_factory=list)
    pseudo: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "training_images": self.training_images,
            "held_out_images": self.held_out_images,
            "held_out_faces": self.held_out_faces,
            "steps_done": self.steps_done,
            "training_minutes": round(self.training_seconds / 60, 1),
            "stopped_early": self.stopped_early,
            "device": self.device,
            "weights_sha256": self.weights_sha256,
            "pseudo_labels": self.pseudo,
            "detectors": [report.to_json() for report in self.reports],
        }


def read_mask_set(folder: Path) -> list[AnnotatedImage]:
    if not (folder / "annotations").is_dir():
        raise DatasetError(f"{folder}: expected annotations/ (Pascal VOC) and images/")
    return read_annotations("voc", folder / "annotations", images_dir=folder / "images")


def held_out_reports(
    held_out: Sequence[AnnotatedImage],
    weights: Path,
    *,
    on_image: Callable[[], None] | None = None,
) -> list[DetectionReport]:
    """YuNet, HOG and the R-CNN exported to ``weights``, scored on ``held_out``, in that
    order; YuNet and HOG down to their evaluation thresholds, so each has its whole curve."""
    from facegate.vision.rcnn.detector import RcnnDetector

    detectors: list[tuple[EvaluatedDetector, Detector]] = [
        (EvaluatedDetector.YUNET, yunet_for_evaluation()),
        (EvaluatedDetector.HOG, hog_for_evaluation()),
        (EvaluatedDetector.RCNN, RcnnDetector.from_file(weights)),
    ]
    return [
        evaluate_detector(detector, held_out, name=choice.value, on_image=on_image)
        for choice, detector in detectors
    ]


def run_detector_bench(
    mask_dir: Path,
    extra_csv: Sequence[Path],
    unlabelled: Sequence[Path],
    out: Path,
    progress: Progress,
    *,
    steps: int,
    batch_size: int,
    seed: int,
    max_minutes: float | None,
    unlabelled_limit: int = DEFAULT_UNLABELLED_LIMIT,
    teacher: Teacher = DEFAULT_TEACHER,
    resume: bool = False,
) -> DetectorBench:
    """Train (pseudo-labels by ``teacher``), export, evaluate the three detectors; write
    JSON, Markdown, PR and loss plots."""
    from facegate.vision.rcnn.data import preload
    from facegate.vision.rcnn.train import TrainSettings, train
    from facegate.vision.rcnn.weights import export_weights

    mask = read_mask_set(mask_dir)
    held_out = [image for image in mask if is_held_out(image)]
    training = [image for image in mask if not is_held_out(image)] * MASK_REPEAT
    labelling = progress.add_task("pseudo-labels", total=None)
    extra = gather(
        [Source(AnnotationFormat.CSV, path, None) for path in extra_csv],
        unlabelled,
        unlabelled_limit=unlabelled_limit,
        teacher=teacher,
        on_image=lambda: progress.advance(labelling),
    )
    counts = {f"{mask_dir.name} (x{MASK_REPEAT})": len(training) // MASK_REPEAT, **extra.counts}
    training += extra.images
    pseudo = extra.pseudo or PseudoLabels(teacher=teacher, cuts=TEACHER_THRESHOLDS[teacher])
    loading = progress.add_task("images", total=len(training))
    samples = preload(training, lambda: progress.advance(loading))

    settings = TrainSettings(steps=steps, batch_size=batch_size, seed=seed)
    stepping = progress.add_task("training", total=steps)
    result = train(
        samples,
        RcnnConfig(),
        settings,
        out / "train",
        resume=resume,
        max_seconds=None if max_minutes is None else max_minutes * 60,
        on_step=lambda log: progress.update(stepping, completed=log.step),
    )
    weights = export_weights(result.model, result.config, out / WEIGHTS_FILE)

    evaluating = progress.add_task("evaluating", total=len(EvaluatedDetector) * len(held_out))
    reports = held_out_reports(held_out, weights, on_image=lambda: progress.advance(evaluating))
    bench = DetectorBench(
        training_images=counts,
        held_out_images=len(held_out),
        held_out_faces=sum(len(image.boxes) for image in held_out),
        steps_done=result.steps_done,
        training_seconds=result.seconds,
        stopped_early=result.stopped_early,
        device=result.device,
        weights_sha256=sha256_of(weights),
        reports=reports,
        pseudo=pseudo.to_json(),
    )
    _write(bench, result.history, out)
    return bench


def _write(bench: DetectorBench, history: Sequence[Any], out: Path) -> None:
    write_json(bench.to_json(), out / BENCH_FILE)
    plot_pr(bench.reports, out / PR_PLOT, f"Held-out masked faces ({bench.held_out_faces})")
    plot_loss([log.step for log in history], [log.losses for log in history], out / LOSS_PLOT)
    text = (
        f"# Face detectors on held-out masked faces\n\n{compare(bench.reports)}\n\n"
        f"R-CNN: {bench.steps_done} steps in {bench.training_seconds / 60:.1f} min on "
        f"{bench.device}; trained on {bench.training_images}, pseudo-labels by "
        f"{bench.pseudo.get('teacher')}.\n"
    )
    atomic_write(out / REPORT_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
