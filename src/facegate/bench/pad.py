"""``facegate bench pad``: ISO/IEC 30107-3 metrics of the passive PAD recipe.

Given a PAD folder (``labels.csv``), the recipe (features + linear model,
:mod:`facegate.liveness.training`) is evaluated by leave-one-subject-out cross-validation.
Given a data root (``../shared/data``), it is evaluated on the development corpus
(:mod:`facegate.liveness.corpus`) the way it will fail (:mod:`facegate.liveness.evaluation`):
NUAA people left out, whole cameras left out, synthetic attack species left out, and pooled
folds of people for BPCER at APCER 1% / 5%. Always at the shipped model's fixed threshold.
The shipped model itself is then run on a smoke set (e.g. Silent-Face's three samples, the
only real screen replay at hand), which it never saw in training.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress, TaskID

from facegate.bench.report import write_json
from facegate.liveness import evaluation
from facegate.liveness.corpus import CorpusSample, Domain, build_corpus
from facegate.liveness.evaluation import HeldOut
from facegate.liveness.features import FeatureSpec
from facegate.liveness.pad_metrics import (
    BONA_FIDE,
    DetCurve,
    PadReport,
    det_curve,
    pad_report,
    plot_det,
)
from facegate.liveness.passive import DEFAULT_THRESHOLD, PassiveDetector
from facegate.liveness.training import (
    DEFAULT_C,
    FeatureSet,
    extract,
    leave_one_subject_out,
    read_samples,
)
from facegate.vision.stages import Detector

LABELS_FILE = "labels.csv"


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
class CrossDomain:
    """The development corpus's out-of-sample figures (see :mod:`facegate.liveness.evaluation`).

    ``nuaa``: NUAA's live frames and real prints, each person left out; ``cameras``: each
    camera family left out whole; ``species``: each synthetic attack species left out;
    ``pooled``: every presentation over five folds of people.
    """

    nuaa: PadReport | None
    cameras: list[HeldOut]
    species: list[HeldOut]
    pooled: PadReport


@dataclass(frozen=True, slots=True)
class PadBenchResult:
    dataset: str
    subjects: int
    presentations: dict[str, int]
    #: Frames on which no face was found (failures to acquire), by species: not scored.
    no_face: dict[str, int]
    #: Leave-one-subject-out over the PAD folder, or over the whole corpus's people (pooled).
    report: PadReport
    c: float
    smoke: list[SmokeResult]
    det_png: str | None
    json_path: str
    cross_domain: CrossDomain | None = None
    #: Median milliseconds of one face's features on this machine (detection excluded).
    feature_ms_median: float | None = None


def run_pad_bench(
    dataset: Path,
    detector: Detector,
    out_dir: Path,
    smoke: Path | None = None,
    progress: Progress | None = None,
    plot: bool = True,
    c: float = DEFAULT_C,
) -> PadBenchResult:
    """Evaluate the recipe on ``dataset`` (a PAD folder or a data root), then smoke-test
    the shipped model."""
    spec = FeatureSpec()
    cross: CrossDomain | None = None
    curves: dict[str, DetCurve] = {}
    if (dataset / LABELS_FILE).is_file():
        samples = read_samples(dataset)
        task = progress.add_task("features", total=len(samples)) if progress else None
        data = extract(samples, detector, spec, _advance(progress, task))
        subjects = len(set(data.subjects.tolist()))
        folds = progress.add_task("subject folds", total=subjects) if progress else None
        scores = leave_one_subject_out(data, c, _advance(progress, folds))
        report = pad_report(scores, data.species, DEFAULT_THRESHOLD)
        curves[f"{dataset.name} (leave one subject out)"] = det_curve(scores, data.species)
        species, missed = data.species, [s.species for s in data.missed]
        seconds = data.seconds
    else:
        corpus = build_corpus(dataset)
        task = progress.add_task("features", total=len(corpus)) if progress else None
        found = extract(corpus, detector, spec, _advance(progress, task))
        cross, curves = _cross_domain(found, c, progress)
        report = cross.pooled
        subjects = len(set(found.subjects.tolist()))
        species, missed = found.species, [s.species for s in found.missed]
        seconds = found.seconds
    png = None
    if plot:
        png = str(
            plot_det(
                curves,
                out_dir / "pad_det.png",
                "Passive PAD, out-of-sample DET",
                operating_points={"threshold 0.5": DEFAULT_THRESHOLD},
            )
        )
    smoke_results = smoke_check(smoke, detector) if smoke is not None else []
    result = PadBenchResult(
        dataset=str(dataset),
        subjects=subjects,
        presentations=dict(Counter(species)),
        no_face=dict(Counter(missed)),
        report=report,
        c=c,
        smoke=smoke_results,
        det_png=png,
        json_path=str(out_dir / "pad.json"),
        cross_domain=cross,
        feature_ms_median=round(1000 * statistics.median(seconds), 2) if seconds else None,
    )
    write_json(result, out_dir / "pad.json")
    return result


def _cross_domain(
    data: FeatureSet[CorpusSample], c: float, progress: Progress | None
) -> tuple[CrossDomain, dict[str, DetCurve]]:
    def stage(name: str, total: int) -> Callable[[], None] | None:
        task = progress.add_task(name, total=total) if progress else None
        return _advance(progress, task)

    curves: dict[str, DetCurve] = {}
    domains = {s.domain for s in data.samples}
    nuaa_people = {s.subject for s in data.samples if s.domain is Domain.NUAA and s.original}
    made = {s.synthetic for s in data.samples if s.synthetic is not None}
    nuaa_scores, nuaa_species = evaluation.nuaa_subject_disjoint(
        data, c, stage("NUAA people", len(nuaa_people))
    )
    nuaa = None
    if BONA_FIDE in nuaa_species and len(set(nuaa_species)) > 1:
        nuaa = pad_report(nuaa_scores, nuaa_species, DEFAULT_THRESHOLD)
        curves["NUAA, each person left out"] = det_curve(nuaa_scores, nuaa_species)
    cameras = evaluation.cross_camera(
        data, c, stage("cameras left out", len(domains - {Domain.PACKAGE}))
    )
    species = evaluation.left_out_species(data, c, stage("species left out", len(made)))
    pooled_scores = evaluation.pooled_folds(
        data, c, stage("folds of people", evaluation.POOLED_FOLDS)
    )
    pooled = pad_report(pooled_scores, data.species, DEFAULT_THRESHOLD)
    curves[f"corpus, {evaluation.POOLED_FOLDS} folds of people"] = det_curve(
        pooled_scores, data.species
    )
    return CrossDomain(nuaa, cameras, species, pooled), curves


def smoke_check(folder: Path, detector: Detector) -> list[SmokeResult]:
    shipped = PassiveDetector()
    results = []
    for sample in read_samples(folder):
        image = sample.load()
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
