"""``facegate bench active``: attack acceptance and genuine rejection of active liveness.

Sequences are built from real photos (:mod:`facegate.liveness.sequences`) and each is
checked as the gate would check it (:func:`facegate.liveness.active.check_faces` on the
faces the pipeline finds, the same as :func:`~facegate.liveness.active.check_sequence`).
The report also says how often the planarity test alone would have refused a sequence,
and gives the pose statistics the check's thresholds were set from.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from random import Random

import numpy as np
from rich.progress import Progress

from facegate.bench.datasets import LabelledImage
from facegate.errors import FacegateError, MultipleFacesError
from facegate.liveness.active import (
    PLANAR_STEP_FRACTION,
    ActiveLimits,
    ActiveReason,
    ActiveResult,
    check_faces,
    frame_subject,
)
from facegate.liveness.challenge import ChallengeIssuer
from facegate.liveness.planarity import planar_motion
from facegate.liveness.sequences import (
    NUAA_LEFT_RIGHT_POS,
    EvalSequence,
    PosedPhoto,
    SequenceBuilder,
    SequenceKind,
    nuaa_sequences,
    read_nuaa_labels,
)
from facegate.vision.image import load_image
from facegate.vision.landmarks import eye_centres_and_nose
from facegate.vision.pipeline import FacePipeline, Selection, select_subject
from facegate.vision.quality import head_pose
from facegate.vision.record import Face

#: Percentiles reported for the pose statistics.
PERCENTILES = (50, 95, 99, 100)
#: z for a two-sided 95% Wilson interval.
_Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class PoseSurvey:
    """The data behind the check's thresholds (percentiles at :data:`PERCENTILES`).

    Attributes:
        lfw_photos / lfw_without_face / lfw_several_faces: LFW photos measured, without a
            face, with a second comparable face (left out of every sequence).
        lfw_abs_yaw: |yaw proxy| of LFW's faces (casual press photos).
        nuaa_live_pairs: pairs of frames of one NUAA live session (a person facing a
            webcam, told to keep still), and their |yaw shift| and eye-distance ratio.
        nuaa_print_frames / nuaa_print_abs_yaw_shift: frames of NUAA prints moved
            left-right, and their |yaw shift| from the first frame of their movement.
    """

    lfw_photos: int
    lfw_without_face: int
    lfw_several_faces: int
    lfw_abs_yaw: list[float]
    nuaa_live_pairs: int = 0
    nuaa_live_abs_yaw_shift: list[float] = field(default_factory=list)
    nuaa_live_eye_ratio: list[float] = field(default_factory=list)
    nuaa_print_frames: int = 0
    nuaa_print_abs_yaw_shift: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SequenceOutcome:
    """One checked sequence: what it was, the check's answer, and the planarity test's."""

    kind: SequenceKind
    subject: str
    steps: str
    passed: bool
    reason: ActiveReason
    observed: str
    turn_frames: int
    planar_turn_frames: int


@dataclass(frozen=True, slots=True)
class KindSummary:
    """Results for one kind of sequence.

    ``rate`` is the attack acceptance rate for attacks (accepted / sequences) and the
    genuine rejection rate for genuine sequences ((sequences - accepted) / sequences);
    ``ci95`` is its 95% Wilson interval. ``planar_alone``: sequences with at least half of
    their turn frames planar, i.e. that the planarity test alone would refuse, out of
    ``planarity_tested`` (those with a face in every frame and at least one turn).
    ``not_built``: people for whom this kind could not be built (no photo in a needed pose).
    """

    kind: SequenceKind
    sequences: int
    accepted: int
    rate: float
    ci95: tuple[float, float]
    reasons: dict[str, int]
    planar_alone: int
    planarity_tested: int
    not_built: int


@dataclass(frozen=True, slots=True)
class ActiveBench:
    """The whole benchmark: settings, pose survey, a summary per kind, every outcome."""

    seed: int
    people: int
    operating_point: str
    identity_threshold: float
    limits: dict[str, object]
    survey: PoseSurvey
    kinds: list[KindSummary]
    seconds: float
    outcomes: list[SequenceOutcome] = field(default_factory=list)


def measure_photos(
    images: Sequence[LabelledImage], pipeline: FacePipeline, progress: Progress | None = None
) -> tuple[list[PosedPhoto], int, int]:
    """Landmarks of each photo's central face; photos with no face or two comparable faces
    are left out. Returns (photos, without a face, with several faces)."""
    landmarker = [stage for stage in pipeline.stages if stage.name == "landmarks"]
    if not landmarker:
        raise ValueError("pipeline has no landmark stage")
    photos: list[PosedPhoto] = []
    without = several = 0
    task = progress.add_task("measuring poses", total=len(images)) if progress else None
    for image in images:
        pixels = load_image(image.path)
        faces, _ = pipeline.detect(pixels)
        height, width = pixels.shape[:2]
        try:
            select_subject(faces, width, height, Selection.SINGLE)
            face = select_subject(faces, width, height, Selection.CENTRAL)
        except MultipleFacesError:
            several += 1
        except FacegateError:
            without += 1
        else:
            landmarker[0].process(pixels, face)
            assert face.landmarks is not None
            photos.append(PosedPhoto(image.path, image.identity, face.landmarks))
        if progress is not None and task is not None:
            progress.advance(task)
    return photos, without, several


def survey_nuaa(
    nuaa_dir: Path, pipeline: FacePipeline, progress: Progress | None = None
) -> dict[str, object]:
    """Pose drift of NUAA's live sessions and of its left-right moved prints."""
    groups: dict[tuple[str, str, str, str], list[tuple[int, Path]]] = {}
    for row in read_nuaa_labels(nuaa_dir):
        live = row["label"] == "live"
        moved = row["session"] == "3" and row["pos_code"] in NUAA_LEFT_RIGHT_POS
        if live or (row["label"] == "spoof" and moved):
            key = (row["label"], row["subject"], row["session"], row["pos_code"])
            groups.setdefault(key, []).append((int(row["pic_no"]), nuaa_dir / row["path"]))
    total = sum(len(m) for m in groups.values())
    task = progress.add_task("measuring NUAA", total=total) if progress else None
    live_shift: list[float] = []
    live_ratio: list[float] = []
    print_shift: list[float] = []
    frames = 0
    for (label, *_), members in sorted(groups.items()):
        poses: list[tuple[float, float]] = []
        for _, path in sorted(members):
            face = frame_subject(load_image(path), pipeline)
            if isinstance(face, Face) and face.landmarks is not None:
                poses.append((head_pose(face.landmarks)[0], _eye_distance(face)))
            if progress is not None and task is not None:
                progress.advance(task)
        if label == "live":
            for (yaw_a, eye_a), (yaw_b, eye_b) in itertools.combinations(poses, 2):
                live_shift.append(abs(yaw_a - yaw_b))
                live_ratio.append(max(eye_a / eye_b, eye_b / eye_a))
        elif poses:
            frames += len(poses) - 1
            print_shift += [abs(yaw - poses[0][0]) for yaw, _ in poses[1:]]
    return {
        "nuaa_live_pairs": len(live_shift),
        "nuaa_live_abs_yaw_shift": _percentiles(live_shift),
        "nuaa_live_eye_ratio": _percentiles(live_ratio),
        "nuaa_print_frames": frames,
        "nuaa_print_abs_yaw_shift": _percentiles(print_shift),
    }


def evaluate(
    sequence: EvalSequence,
    pipeline: FacePipeline,
    identity_threshold: float,
    limits: ActiveLimits | None = None,
) -> SequenceOutcome:
    """Check one sequence as the gate would, and run the planarity test on its turn frames
    whatever the check's answer."""
    limits = limits or ActiveLimits()
    faces: list[Face] = []
    result: ActiveResult | None = None
    for index, frame in enumerate(sequence.frames):
        found = frame_subject(frame, pipeline)
        if isinstance(found, ActiveReason):
            result = ActiveResult(False, found, frame=index)
            break
        faces.append(found)
    planar = 0
    turns = 0
    if result is None:
        result = check_faces(
            sequence.frames,
            faces,
            sequence.steps,
            identity_threshold=identity_threshold,
            limits=limits,
        )
        for index in sequence.turn_frames:
            turns += 1
            verdict = planar_motion(
                sequence.frames[0],
                faces[0].box,
                sequence.frames[index],
                faces[index].box,
                limits.planarity,
            )
            planar += verdict.planar
    return SequenceOutcome(
        kind=sequence.kind,
        subject=sequence.subject,
        steps=",".join(s.value for s in sequence.steps),
        passed=result.passed,
        reason=result.reason,
        observed=result.observed,
        turn_frames=turns,
        planar_turn_frames=planar,
    )


#: The LFW kinds built for each person, in order.
LFW_KINDS = (
    SequenceKind.GENUINE,
    SequenceKind.PRINT,
    SequenceKind.PRINT_OBLIQUE,
    SequenceKind.SCREEN,
    SequenceKind.REPLAY_WRONG_ORDER,
    SequenceKind.IDENTITY_SWITCH,
)


def build_sequences(
    builder: SequenceBuilder, people: Sequence[str]
) -> Iterator[tuple[SequenceKind, EvalSequence | None]]:
    """Every LFW kind for each person, one challenge drawn per person; None where a kind
    cannot be built. A generator: the frames of ~2,000 sequences would not fit in memory."""
    for identity in people:
        steps = builder.challenge()
        for kind in LFW_KINDS:
            if kind is SequenceKind.GENUINE:
                yield kind, builder.genuine(identity, steps)
            elif kind is SequenceKind.REPLAY_WRONG_ORDER:
                yield kind, builder.replay_wrong_order(identity, steps)
            elif kind is SequenceKind.IDENTITY_SWITCH:
                yield kind, builder.identity_switch(identity, steps)
            else:
                yield kind, builder.photo_attack(identity, steps, kind)


def run_active_bench(
    images: Sequence[LabelledImage],
    pipeline: FacePipeline,
    *,
    identity_threshold: float,
    operating_point: str,
    nuaa_dir: Path | None = None,
    limit: int | None = None,
    seed: int = 0,
    limits: ActiveLimits | None = None,
    progress: Progress | None = None,
) -> ActiveBench:
    """Measure the photos, build the sequences, check each one, and summarise.

    Args:
        images: LFW-style labelled photos (several per person).
        pipeline: the gate's pipeline (``FacePipeline.default()``).
        identity_threshold: similarity every frame must reach against the baseline.
        operating_point: the name of the operating point it came from (for the report).
        nuaa_dir: NUAA Photo Imposter folder (``labels.csv``); adds its moved prints.
        limit: use this many people (drawn with ``seed``); all when None.
        seed: makes the people, challenges, placement and noise reproducible.
    """
    started = time.perf_counter()
    limits = limits or ActiveLimits()
    identities = sorted({im.identity for im in images})
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        identities = sorted(np.random.default_rng(seed).permutation(identities)[:limit])
    chosen = set(identities)
    photos, without, several = measure_photos(
        [im for im in images if im.identity in chosen], pipeline, progress
    )
    survey = PoseSurvey(
        lfw_photos=len(photos) + without + several,
        lfw_without_face=without,
        lfw_several_faces=several,
        lfw_abs_yaw=_percentiles([abs(p.yaw) for p in photos]),
    )
    builder = SequenceBuilder(photos, seed=seed, limits=limits)
    people = [identity for identity in identities if identity in builder.people]
    built: Iterator[tuple[SequenceKind, EvalSequence | None]] = build_sequences(builder, people)
    total = len(people) * len(LFW_KINDS)
    not_built: Counter[SequenceKind] = Counter()
    if nuaa_dir is not None:
        issuer = ChallengeIssuer(rng=Random(seed + 3))  # noqa: S311 - reproducible
        nuaa, short = nuaa_sequences(nuaa_dir, issuer, min_frames=issuer.steps + 1)
        built = itertools.chain(built, ((s.kind, s) for s in nuaa))
        total += len(nuaa)
        not_built[SequenceKind.NUAA_PRINT] += short
        survey = PoseSurvey(**{**asdict(survey), **survey_nuaa(nuaa_dir, pipeline, progress)})
    task = progress.add_task("checking sequences", total=total) if progress else None
    outcomes: list[SequenceOutcome] = []
    for kind, sequence in built:
        if sequence is None:
            not_built[kind] += 1
        else:
            outcomes.append(evaluate(sequence, pipeline, identity_threshold, limits))
        if progress is not None and task is not None:
            progress.advance(task)
    return ActiveBench(
        seed=seed,
        people=len(people),
        operating_point=operating_point,
        identity_threshold=identity_threshold,
        limits=asdict(limits),
        survey=survey,
        kinds=summarise(outcomes, not_built),
        seconds=round(time.perf_counter() - started, 1),
        outcomes=outcomes,
    )


def summarise(
    outcomes: Sequence[SequenceOutcome], not_built: Counter[SequenceKind] | None = None
) -> list[KindSummary]:
    """One :class:`KindSummary` per kind present, genuine first."""
    not_built = not_built or Counter()
    summaries: list[KindSummary] = []
    for kind in SequenceKind:
        mine = [o for o in outcomes if o.kind is kind]
        if not mine and not not_built[kind]:
            continue
        accepted = sum(o.passed for o in mine)
        errors = len(mine) - accepted if kind is SequenceKind.GENUINE else accepted
        tested = [o for o in mine if o.turn_frames]
        summaries.append(
            KindSummary(
                kind=kind,
                sequences=len(mine),
                accepted=accepted,
                rate=errors / len(mine) if mine else 0.0,
                ci95=wilson_interval(errors, len(mine)),
                reasons=dict(Counter(o.reason.value for o in mine).most_common()),
                planar_alone=sum(
                    o.planar_turn_frames >= PLANAR_STEP_FRACTION * o.turn_frames for o in tested
                ),
                planarity_tested=len(tested),
                not_built=not_built[kind],
            )
        )
    return summaries


def wilson_interval(errors: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of ``errors / n``; (0, 1) when ``n`` is 0.

    >>> tuple(round(x, 4) for x in wilson_interval(0, 100))
    (0.0, 0.037)
    """
    if n == 0:
        return (0.0, 1.0)
    p = errors / n
    denominator = 1 + _Z95**2 / n
    centre = (p + _Z95**2 / (2 * n)) / denominator
    half = _Z95 * math.sqrt(p * (1 - p) / n + _Z95**2 / (4 * n * n)) / denominator
    low = 0.0 if errors == 0 else max(0.0, centre - half)  # exact at the ends: no rounding
    high = 1.0 if errors == n else min(1.0, centre + half)
    return (low, high)


def markdown_report(bench: ActiveBench, command: str) -> str:
    """The summary table and the pose survey as Markdown."""
    lines = [
        f"`{command}`",
        "",
        f"{bench.people} LFW people, seed {bench.seed}, identity threshold "
        f"{bench.identity_threshold:.4f} ({bench.operating_point}), {bench.seconds:g} s.",
        "",
        "| sequences | n | accepted | rate | 95% CI | planar alone | not built | reasons |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for s in bench.kinds:
        name = "genuine (rejection rate)" if s.kind is SequenceKind.GENUINE else s.kind.value
        reasons = ", ".join(f"{k} {v}" for k, v in s.reasons.items())
        lines.append(
            f"| {name} | {s.sequences} | {s.accepted} | {s.rate:.1%} | "
            f"{s.ci95[0]:.1%}–{s.ci95[1]:.1%} | {s.planar_alone}/{s.planarity_tested} | "
            f"{s.not_built} | {reasons} |"
        )
    survey = bench.survey
    pct = "/".join(f"p{p}" for p in PERCENTILES)
    lines += [
        "",
        f"Pose survey ({pct}):",
        "",
        f"- LFW: {survey.lfw_photos} photos, {survey.lfw_without_face} without a face, "
        f"{survey.lfw_several_faces} with several faces (left out); "
        f"|yaw| {_fmt(survey.lfw_abs_yaw)}",
    ]
    if survey.nuaa_live_pairs:
        lines += [
            f"- NUAA live, {survey.nuaa_live_pairs} frame pairs of one session: |yaw shift| "
            f"{_fmt(survey.nuaa_live_abs_yaw_shift)}, eye-distance ratio "
            f"{_fmt(survey.nuaa_live_eye_ratio)}",
            f"- NUAA prints moved left-right, {survey.nuaa_print_frames} frames: |yaw shift| "
            f"from the first frame {_fmt(survey.nuaa_print_abs_yaw_shift)}",
        ]
    return "\n".join(lines) + "\n"


def _fmt(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values) if values else "n/a"


def _percentiles(values: Sequence[float]) -> list[float]:
    if not values:
        return []
    return [round(float(v), 4) for v in np.percentile(values, PERCENTILES)]


def _eye_distance(face: Face) -> float:
    assert face.landmarks is not None
    first, second, _ = eye_centres_and_nose(face.landmarks)
    return float(np.hypot(*(second - first)))
