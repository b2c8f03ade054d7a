"""Measures what the probe detector's limits rest on (``facegate.gate.probe``).

People of the LFW dev subset are split by identity (seeded): the calibration half gives the
same-person and different-person score distributions, and single-image perturbation series
(the way a query attack's probes look); the report half gives the false-trip and detection
counts of a :class:`~facegate.gate.probe.ProbeDetector` at the chosen limits.

Run: ``python -m facegate.audit.probe_calibration ../shared/data/lfw_deepfunneled_subset``
(writes one JSON object to stdout).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from facegate.audit.data import AuditData, load_audit_data
from facegate.gate.probe import DEFAULT_PROBE_LIMITS, ProbeDetector, ProbeLimits
from facegate.vision.image import RGBImage

#: Perturbations of one image, named: ``noise`` σ and ``sign`` ε in /255, ``shift`` px,
#: ``jpeg`` quality.
PERTURBATIONS: tuple[tuple[str, float], ...] = (
    ("noise", 2.0),
    ("noise", 4.0),
    ("noise", 8.0),
    ("sign", 4.0),
    ("sign", 8.0),
    ("sign", 16.0),
    ("shift", 1.0),
    ("shift", 2.0),
    ("shift", 3.0),
    ("jpeg", 95.0),
    ("jpeg", 75.0),
    ("jpeg", 50.0),
)
QUANTILES = (0.0, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999, 1.0)


def perturb(image: RGBImage, kind: str, size: float, rng: np.random.Generator) -> RGBImage:
    """``image`` (``(h, w, 3)`` uint8 RGB) with one small change, as a probe would be."""
    pixels = image.astype(np.float64)
    if kind == "noise":
        pixels = pixels + rng.normal(0.0, size, pixels.shape)
    elif kind == "sign":
        pixels = pixels + size * rng.choice((-1.0, 1.0), pixels.shape)
    elif kind == "shift":
        dy, dx = (int(v) for v in rng.choice((-size, size), 2))
        pixels = np.roll(pixels, (dy, dx), axis=(0, 1))
    elif kind == "jpeg":
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(size))
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    else:
        raise ValueError(f"kind: unknown perturbation {kind!r}")
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def split_people(data: AuditData, seed: int) -> tuple[set[str], set[str]]:
    """(calibration, report) identities, half each, seeded."""
    people = sorted(data.by_identity())
    random.Random(seed).shuffle(people)
    half = len(people) // 2
    return set(people[:half]), set(people[half:])


def _quantiles(scores: Sequence[float]) -> dict[str, float]:
    values = np.asarray(scores, dtype=np.float64)
    return {f"q{q:g}": round(float(np.quantile(values, q)), 4) for q in QUANTILES}


def probes_of(
    data: AuditData, image: RGBImage, kind: str, size: float, n: int, rng: np.random.Generator
) -> list[NDArray[np.float32]]:
    """The embeddings of ``n`` perturbations of ``image`` by one kind and size, each with its
    own randomness (faces found only)."""
    series = []
    for _ in range(n):
        face = data.embed(perturb(image, kind, size, rng))
        if face is not None and face.embedding is not None:
            series.append(face.embedding)
    return series


def _label(kind: str, size: float) -> str:
    return f"{kind}_{size:g}"


def _trips(series: Sequence[NDArray[np.float32]], limits: ProbeLimits, device: str) -> int:
    clock = itertools.count()
    detector = ProbeDetector(limits, clock=lambda: float(next(clock)))
    return sum(detector.observe(device, e, refused=True).tripped for e in series)


def measure(
    data: AuditData, limits: ProbeLimits, seed: int, probe_images: int, series_images: int
) -> dict[str, object]:
    """The calibration half's score distributions and the report half's trip counts."""
    calibration, report = split_people(data, seed)
    groups = data.by_identity()
    same = [
        data.score(a.embedding, b.embedding)
        for person in sorted(calibration)
        for a, b in itertools.combinations(groups[person], 2)
    ]
    rng = random.Random(seed)
    cal_samples = [s for s in data.samples if s.identity in calibration]
    different = [
        data.score(a.embedding, b.embedding)
        for a, b in (rng.sample(cal_samples, 2) for _ in range(20000))
        if a.identity != b.identity
    ]
    # Calibration half: two probes of each kind per image, compared with each other.
    firsts = [groups[p][0] for p in sorted(calibration)]
    rng.shuffle(firsts)
    noise = np.random.default_rng(seed)
    probe_pairs: dict[str, list[float]] = {_label(k, v): [] for k, v in PERTURBATIONS}
    for sample in firsts[:probe_images]:
        for kind, size in PERTURBATIONS:
            pair = probes_of(data, sample.image, kind, size, 2, noise)
            if len(pair) == 2:
                probe_pairs[_label(kind, size)].append(data.score(*pair))
    # Report half: genuine traffic (every face refused: the worst case) and probe series.
    per_person_trips = sum(
        _trips([s.embedding for s in groups[p]], limits, p) for p in sorted(report)
    )
    report_samples = [s for s in data.samples if s.identity in report]
    mixed = [s.embedding for s in report_samples]
    rng.shuffle(mixed)
    mixed_trips = _trips(mixed, limits, "one-device")
    report_firsts = [groups[p][0] for p in sorted(report)][:series_images]
    tripped: dict[str, int] = {}
    for kind, size in PERTURBATIONS:
        tripped[_label(kind, size)] = sum(
            _trips(probes_of(data, s.image, kind, size, limits.count, noise), limits, "x") > 0
            for s in report_firsts
        )
    all_pairs = [score for scores in probe_pairs.values() for score in scores]
    return {
        "data": data.summary(),
        "limits": {
            "window_s": limits.window_s,
            "near": limits.near,
            "count": limits.count,
            "hold_s": limits.hold_s,
        },
        "calibration": {
            "people": len(calibration),
            "same_person_pairs": len(same),
            "same_person": _quantiles(same),
            "different_person_pairs": len(different),
            "different_person": _quantiles(different),
            "same_person_at_or_above_near": sum(s >= limits.near for s in same),
            "probe_images": min(probe_images, len(firsts)),
            "probe_pairs": len(all_pairs),
            "probe_pair": _quantiles(all_pairs),
            "probe_pair_by_kind": {k: _quantiles(v) for k, v in probe_pairs.items() if v},
            "probe_pairs_below_near": sum(s < limits.near for s in all_pairs),
        },
        "report": {
            "people": len(report),
            "faces": len(report_samples),
            "per_person_series_trips": per_person_trips,
            "one_device_all_faces_trips": mixed_trips,
            "probe_series_per_kind": len(report_firsts),
            "probe_series_tripped_by_kind": tripped,
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe-images", type=int, default=20)
    parser.add_argument("--series-images", type=int, default=4)
    parser.add_argument("--near", type=float, default=DEFAULT_PROBE_LIMITS.near)
    parser.add_argument("--count", type=int, default=DEFAULT_PROBE_LIMITS.count)
    args = parser.parse_args(argv)
    limits = ProbeLimits(
        window_s=DEFAULT_PROBE_LIMITS.window_s,
        near=args.near,
        count=args.count,
        hold_s=DEFAULT_PROBE_LIMITS.hold_s,
    )
    data = load_audit_data(args.root, seed=args.seed)
    sys.stdout.write(
        json.dumps(
            measure(data, limits, args.seed, args.probe_images, args.series_images), indent=2
        )
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
