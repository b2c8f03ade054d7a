"""``facegate bench pad``: ISO/IEC 30107-3 metrics of the passive PAD recipe.

The recipe (features + linear model, :mod:`facegate.liveness.training`) is evaluated by
leave-one-subject-out cross-validation on a labelled PAD set, at the shipped model's
threshold; the shipped model itself is then run on a smoke set (e.g. Silent-Face's three
samples, the only screen replay at hand), which it never saw in training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress, TaskID

from facegate.bench.report import write_json
from facegate.liveness.features import FeatureSpec
from facegate.liveness.pad_metrics import PadReport, det_curve, pad_report, plot_det
from facegate.liveness.passive import DEFAULT_THRESHOLD, PassiveDetector
from facegate.liveness.training import DEFAULT_C, extract, leave_one_subject_out, read_samples
from facegate.vision.image import load_image
from facegate.vision.stages import Detector


@dataclass(frozen=True, slots=True)
class SmokeResult:
    """The shipped model's verdict on one image it was not trained on."""

    file: str
    species: str
    score: float | None
    accepted_as_bona_fide: bool | None

    @property
    def correct(self) -> bool | None:
        if self.accepted_as_bona_fide is None:
            return None
        return self.accepted_as_bona_fide == (self.species == "bona_fide")


@dataclass(frozen=True, slots=True)
class PadBenchResult:
    dataset: str
    subjects: int
    presentations: dict[str, int]
    #: Frames on which no face was found (failures to acquire), by species: not scored.
    no_face: dict[str, int]
    report: PadReport
    c: float
    smoke: list[SmokeResult]
    det_png: str | None
    json_path: str


def run_pad_bench(
    dataset: Path,
    detector: Detector,
    out_dir: Path,
    smoke: Path | None = None,
    progress: Progress | None = None,
    plot: bool = True,
    c: float = DEFAULT_C,
) -> PadBenchResult:
    """Cross-validate on ``dataset`` by subject, then smoke-test the shipped model."""
    samples = read_samples(dataset)
    spec = FeatureSpec()
    task = progress.add_task("features", total=len(samples)) if progress else None
    data = extract(samples, detector, spec, _advance(progress, task))
    subjects = sorted(set(data.subjects.tolist()))
    folds = progress.add_task("subject folds", total=len(subjects)) if progress else None
    scores = leave_one_subject_out(data, c, _advance(progress, folds))
    report = pad_report(scores, data.species, DEFAULT_THRESHOLD)
    png = None
    if plot:
        curve = det_curve(scores, data.species)
        png = str(
            plot_det(
                {f"{dataset.name} (leave one subject out)": curve},
                out_dir / "pad_det.png",
                "Passive PAD, subject-disjoint DET",
                operating_points={"threshold 0.5": DEFAULT_THRESHOLD},
            )
        )
    smoke_results = smoke_check(smoke, detector) if smoke is not None else []
    result = PadBenchResult(
        dataset=str(dataset),
        subjects=len(subjects),
        presentations=dict(Counter(data.species)),
        no_face=dict(Counter(s.species for s in data.missed)),
        report=report,
        c=c,
        smoke=smoke_results,
        det_png=png,
        json_path=str(out_dir / "pad.json"),
    )
    write_json(result, out_dir / "pad.json")
    return result


def smoke_check(folder: Path, detector: Detector) -> list[SmokeResult]:
    shipped = PassiveDetector()
    results = []
    for sample in read_samples(folder):
        image = load_image(sample.path)
        faces = detector.detect(image)
        if not faces:
            results.append(SmokeResult(sample.path.name, sample.species, None, None))
            continue
        box = max(faces, key=lambda f: f.box.area).box
        score = shipped.model.score(image, box)
        results.append(
            SmokeResult(
                sample.path.name, sample.species, round(score, 4), score >= shipped.model.threshold
            )
        )
    return results


def _advance(progress: Progress | None, task: TaskID | None) -> Callable[[], None] | None:
    if progress is None or task is None:
        return None
    return lambda: progress.advance(task)
