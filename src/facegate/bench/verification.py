"""``facegate bench verification``: accuracy, ROC and error rates on labelled face images.

Two protocols: LFW-style pair lists (``pairs.txt`` or a pairs CSV), evaluated with 10-fold
accuracy as in the LFW protocol; and all-vs-all over a labelled folder, where every pair
of images is compared (millions of impostor pairs, enough to resolve FMR 1e-4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from facegate.bench.acquire import Acquisition, stage_timing
from facegate.bench.datasets import LabelledImage, Pair, all_vs_all_pairs
from facegate.bench.metrics import (
    ErrorCurve,
    OperatingPointResult,
    error_rates,
    fnmr_at_fmr,
    kfold_accuracy,
    roc_auc,
)
from facegate.bench.report import JSON_FIELD
from facegate.errors import DatasetError
from facegate.matching.score import score
from facegate.vision.record import EMBEDDING_DIM

#: The false match rates the benchmark reports FNMR at.
REPORTED_FMRS = (1e-2, 1e-3, 1e-4)
LFW_FOLDS = 10


@dataclass(frozen=True, slots=True)
class ProtocolResult:
    """The numbers of one protocol on one dataset. FTA pairs score ``-inf`` (rejected)."""

    name: str
    n_pairs: int
    n_genuine: int
    n_impostor: int
    images: int
    fta_images: int
    fta_pairs: int
    accuracy_mean: float | None
    accuracy_std: float | None
    roc_auc: float
    eer: float
    operating_points: tuple[OperatingPointResult, ...]
    #: Median and p95 milliseconds per stage over this protocol's images (see ``stage_timing``).
    timing: Mapping[str, Mapping[str, float]]
    curve: ErrorCurve = field(repr=False, compare=False, metadata={JSON_FIELD: False})


def pair_scores(
    pairs: Sequence[Pair], acquired: dict[Path, Acquisition]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Similarity of each pair (``-inf`` where either image failed to acquire), and labels."""
    scores = np.full(len(pairs), -np.inf)
    for k, pair in enumerate(pairs):
        a = acquired[pair.path_a].embedding
        b = acquired[pair.path_b].embedding
        if a is not None and b is not None:
            scores[k] = float(score(a, b)[0, 0])
    same = np.asarray([p.same for p in pairs], dtype=bool)
    return scores, same


def all_vs_all_scores(
    images: Sequence[LabelledImage], acquired: dict[Path, Acquisition]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Scores of every unordered pair of distinct images, and whether they share identity."""
    i, j, same = all_vs_all_pairs(images)
    embeddings = np.zeros((len(images), EMBEDDING_DIM), dtype=np.float64)
    valid = np.zeros(len(images), dtype=bool)
    for k, image in enumerate(images):
        embedding = acquired[image.path].embedding
        if embedding is not None:
            embeddings[k] = embedding
            valid[k] = True
    matrix = score(embeddings, embeddings)
    scores = matrix[i, j]
    scores[~(valid[i] & valid[j])] = -np.inf
    return scores, same


def evaluate(
    name: str,
    scores: NDArray[np.float64],
    same: NDArray[np.bool_],
    images: Sequence[Path],
    acquired: dict[Path, Acquisition],
    folds: int | NDArray[np.int64] | None,
) -> ProtocolResult:
    """Every reported metric for one set of scored pairs.

    ``folds``: a fold count k, a fold label per pair, or None for no k-fold accuracy.
    """
    genuine, impostor = scores[same], scores[~same]
    if genuine.size == 0 or impostor.size == 0:
        raise DatasetError(f"{name}: needs both same-person and different-person pairs")
    # k-fold accuracy needs every fold to hold pairs of both kinds.
    k = folds if isinstance(folds, int) or folds is None else np.unique(folds).size
    enough = k is not None and min(genuine.size, impostor.size) >= k
    accuracy = kfold_accuracy(scores, same, folds) if folds is not None and enough else None
    curve = error_rates(genuine, impostor)
    return ProtocolResult(
        name=name,
        n_pairs=int(scores.size),
        n_genuine=int(genuine.size),
        n_impostor=int(impostor.size),
        images=len(set(images)),
        fta_images=sum(1 for p in set(images) if acquired[p].embedding is None),
        fta_pairs=int(np.sum(~np.isfinite(scores))),
        accuracy_mean=accuracy.mean if accuracy else None,
        accuracy_std=accuracy.std if accuracy else None,
        roc_auc=roc_auc(genuine, impostor),
        eer=curve.eer(),
        operating_points=tuple(fnmr_at_fmr(genuine, impostor, fmr) for fmr in REPORTED_FMRS),
        timing=stage_timing({p: acquired[p] for p in set(images)}),
        curve=curve,
    )


def evaluate_pairs(
    name: str, pairs: Sequence[Pair], acquired: dict[Path, Acquisition]
) -> ProtocolResult:
    scores, same = pair_scores(pairs, acquired)
    images = [p.path_a for p in pairs] + [p.path_b for p in pairs]
    file_folds = np.asarray([p.fold for p in pairs], dtype=np.int64)
    # The LFW protocol scores a pair list on its own folds; a one-fold list (like the
    # development subset's) is split into 10 stratified folds instead.
    folds: int | NDArray[np.int64] = file_folds if np.unique(file_folds).size >= 2 else LFW_FOLDS
    return evaluate(name, scores, same, images, acquired, folds)


def evaluate_all_vs_all(
    name: str, images: Sequence[LabelledImage], acquired: dict[Path, Acquisition]
) -> ProtocolResult:
    scores, same = all_vs_all_scores(images, acquired)
    return evaluate(name, scores, same, [im.path for im in images], acquired, folds=None)


def markdown_table(systems: Mapping[str, Sequence[ProtocolResult]]) -> str:
    """One Markdown table row per system and protocol: what the README quotes."""
    lines = [
        "| system | protocol | pairs (genuine / impostor) | FTA images | 10-fold accuracy "
        "| ROC AUC | EER | FNMR @ FMR 1e-2 | FNMR @ FMR 1e-3 | FNMR @ FMR 1e-4 "
        "| ms / image (median, p95) |",
        "|" + " --- |" * 11,
    ]
    for system, results in systems.items():
        for r in results:
            accuracy = (
                f"{r.accuracy_mean:.2%} ± {r.accuracy_std:.2%}"
                if r.accuracy_mean is not None and r.accuracy_std is not None
                else "—"
            )
            points = [
                f"{op.fnmr:.2%} (n={op.n_impostor:,}{'' if op.resolvable else ', too few'})"
                for op in r.operating_points
            ]
            total = r.timing.get("total", {})
            median, p95 = (total.get(k, float("nan")) for k in ("median_ms", "p95_ms"))
            time = f"{median:.0f}, {p95:.0f}"
            cells = [
                system,
                r.name,
                f"{r.n_genuine:,} / {r.n_impostor:,}",
                str(r.fta_images),
                accuracy,
                f"{r.roc_auc:.4f}",
                f"{r.eer:.2%}",
                *points,
                time,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_timing(systems: Mapping[str, Sequence[ProtocolResult]]) -> str:
    """Per-stage milliseconds per image (median / p95), one row per system and protocol."""
    stages = sorted({s for rs in systems.values() for r in rs for s in r.timing if s != "total"})
    lines = [
        "| system | protocol | " + " | ".join(stages) + " | total |",
        "|" + " --- |" * (len(stages) + 3),
    ]
    for system, results in systems.items():
        for r in results:
            cells = [_ms(r.timing.get(s)) for s in stages]
            total = _ms(r.timing.get("total"))
            lines.append(f"| {system} | {r.name} | " + " | ".join(cells) + f" | {total} |")
    return "\n".join(lines) + "\n"


def _ms(timing: Mapping[str, float] | None) -> str:
    return "—" if timing is None else f"{timing['median_ms']:.1f} / {timing['p95_ms']:.1f}"
