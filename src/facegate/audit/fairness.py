"""Fairness: FMR and FNMR at the door's operating point, by group and by capture condition.

Groups come only from a CSV the auditor supplies (``identity,group``): facegate never infers
who belongs to which group from a face (R-26). Capture conditions are what facegate measures
itself on every image (the quality record: pose, sharpness, exposure), binned at fixed cut
points written below and chosen before looking at any result.

Pairs and cells:

* By group, pairs are unordered. A genuine pair belongs to its person's group; an impostor
  pair is counted in a group only when both people are in it (pairs across groups are
  reported on their own, as ``between_groups``).
* By condition, pairs are ordered (probe, reference): the probe's bin decides the cell and
  the reference is any other image, so each unordered pair is counted once per probe.

Point estimates come from fairlearn's ``MetricFrame`` over the pairs. Its own bootstrap
resamples rows (pairs), but the pairs of one person are correlated, so the 95% intervals
here come from a cluster bootstrap that resamples PEOPLE with replacement (all of a drawn
person's pairs come with them; an impostor pair counts once per draw of each of its people).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fairlearn.metrics import MetricFrame
from numpy.typing import NDArray

from facegate.audit.data import AuditData, AuditSample
from facegate.bench.metrics import threshold_at_fmr
from facegate.errors import DatasetError
from facegate.matching import operating_point, score
from facegate.vision.record import Quality

#: The row for people the auditor's CSV does not name.
UNLABELLED = "unlabelled"
#: The row for impostor pairs whose two people are in different groups.
BETWEEN_GROUPS = "between_groups"
GROUPS_CSV_COLUMNS = ("identity", "group")
#: A cell with fewer genuine pairs than this says nothing about its FNMR.
MIN_GENUINE_PAIRS = 50

#: Bin names and cut points (a value below the first cut is in the first bin, and so on).
#: Pose: ``|yaw|`` proxy of the quality record (nose offset from the eyes' midpoint in
#: inter-eye distances, :func:`facegate.vision.quality.head_pose`): thirds of the quality
#: gate's limit 0.45.
POSE_CUTS = (0.15, 0.30)
POSE_BINS = ("frontal", "turned", "strongly_turned")
#: Blur: the quality record's contrast-normalised Laplacian sharpness; below the SFace gate's
#: limit 0.14 fails quality, below twice it is soft.
BLUR_CUTS = (0.14, 0.28)
BLUR_BINS = ("blurred", "soft", "sharp")
#: Light: mean grey level (0–255) of the chip's centre; the quality gate's exposure limits
#: (40, 215) moved 40 grey levels inward.
LIGHT_CUTS = (80.0, 175.0)
LIGHT_BINS = ("dark", "normal", "bright")
MASK_NOT_MEASURED = (
    "not measured: the shipped engine (YuNet, SFace, the quality gate) has no mask or "
    "occlusion measure, and facegate adds no classifier for it"
)

_METHOD = {
    "pairs_by_group": "unordered; genuine pairs in the person's group; impostor pairs in a "
    "group only when both people are in it, pairs across groups under between_groups",
    "pairs_by_condition": "ordered (probe, reference); the probe's bin decides the cell",
    "point_estimate": "fairlearn MetricFrame over comparison pairs (as weighted counts)",
    "ci95": "cluster bootstrap over people (pairs of one person are correlated), percentile",
    "threshold_for_target_fmr": "lowest threshold at which the cell's impostor FMR is at most "
    "the door's target; null when the cell has fewer than 1/target impostor pairs",
    "too_small": f"fewer than {MIN_GENUINE_PAIRS} genuine or 1/target impostor pairs",
}


@dataclass(frozen=True, slots=True)
class GroupLabels:
    """The auditor's groups, checked against the audited people."""

    #: identity → group, for every audited person (``UNLABELLED`` where the CSV is silent).
    by_identity: dict[str, str]
    rows: int
    #: Identities in the CSV that are not among the audited people.
    unknown_identities: int
    unlabelled_people: int


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Every comparison of the audited images, kept as matrices over images."""

    scores: NDArray[np.float64]
    person: NDArray[np.int64]
    people: list[str]


def read_group_labels(path: Path, identities: Sequence[str]) -> GroupLabels:
    """The ``identity,group`` CSV at ``path``, checked against the audited ``identities``.

    Raises:
        DatasetError: unreadable file, missing columns, an empty cell, or one identity
            given two different groups (the message names the line).
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in GROUPS_CSV_COLUMNS if c not in columns]
            if missing:
                raise DatasetError(f"{path}: groups CSV needs columns {missing} (has {columns})")
            labels: dict[str, str] = {}
            rows = 0
            for line, row in enumerate(reader, start=2):
                clean = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                identity, group = clean.get("identity", ""), clean.get("group", "")
                if not identity or not group:
                    raise DatasetError(f"{path}:{line}: empty identity or group")
                if labels.get(identity, group) != group:
                    raise DatasetError(f"{path}:{line}: {identity!r} is in two groups")
                labels[identity] = group
                rows += 1
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read the groups CSV ({exc})") from exc
    audited = set(identities)
    by_identity = {i: labels.get(i, UNLABELLED) for i in sorted(audited)}
    return GroupLabels(
        by_identity=by_identity,
        rows=rows,
        unknown_identities=len(set(labels) - audited),
        unlabelled_people=sum(1 for g in by_identity.values() if g == UNLABELLED),
    )


def audit_fairness(
    data: AuditData, *, groups_csv: Path | None, rounds: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """The ``fairness`` section of ``security.json`` (see the module docstring for the method)."""
    target = operating_point(data.registry.entry(data.model), data.point).target_fmr
    pairs = _pairs(data.samples)
    section: dict[str, Any] = {
        "operating_point": str(data.point),
        "threshold": data.threshold,
        "target_fmr": target,
        "method": _METHOD,
        "people": len(pairs.people),
        "images": len(data.samples),
    }
    if groups_csv is None:
        section["groups"] = {
            "skipped": "no groups CSV supplied (--groups); facegate never infers groups from "
            "faces (R-26)"
        }
    else:
        labels = read_group_labels(groups_csv, pairs.people)
        section["groups"] = {
            "source": "auditor-supplied CSV",
            "csv_rows": labels.rows,
            "unknown_identities": labels.unknown_identities,
            "unlabelled_people": labels.unlabelled_people,
            "cells": _group_cells(pairs, labels, data.threshold, target, rounds, seed),
        }
    section["conditions"] = _condition_cells(
        data.samples, pairs, data.threshold, target, rounds, seed
    )
    return section


def _pairs(samples: Sequence[AuditSample]) -> _Pairs:
    people = sorted({s.identity for s in samples})
    index = {p: i for i, p in enumerate(people)}
    embeddings = np.stack([s.embedding for s in samples]) if samples else np.zeros((0, 128))
    return _Pairs(
        scores=score(embeddings, embeddings) if samples else np.zeros((0, 0)),
        person=np.array([index[s.identity] for s in samples], dtype=np.int64),
        people=people,
    )


@dataclass(frozen=True, slots=True)
class _Cell:
    """One cell's comparisons: a boolean mask over the (probe, reference) score matrix."""

    name: str
    mask: NDArray[np.bool_]


def _group_cells(
    pairs: _Pairs, labels: GroupLabels, threshold: float, target: float, rounds: int, seed: int
) -> list[dict[str, Any]]:
    group_of = np.array([labels.by_identity[pairs.people[p]] for p in pairs.person], dtype=object)
    upper = np.triu(np.ones_like(pairs.scores, dtype=bool), k=1)
    same_group = group_of[:, None] == group_of[None, :]
    cells = [
        _Cell(str(g), upper & (group_of[:, None] == g) & same_group)
        for g in sorted(set(labels.by_identity.values()))
    ]
    between = _Cell(BETWEEN_GROUPS, upper & ~same_group)
    return _cell_results(pairs, [*cells, between], threshold, target, rounds, seed)


def _condition_cells(
    samples: Sequence[AuditSample],
    pairs: _Pairs,
    threshold: float,
    target: float,
    rounds: int,
    seed: int,
) -> dict[str, Any]:
    not_self = ~np.eye(len(samples), dtype=bool)
    measures: dict[
        str, tuple[Callable[[AuditSample], float], tuple[float, ...], tuple[str, ...], str]
    ]
    measures = {
        "pose": (lambda s: abs(_quality(s).yaw), POSE_CUTS, POSE_BINS, "|yaw| proxy"),
        "blur": (lambda s: _quality(s).sharpness, BLUR_CUTS, BLUR_BINS, "sharpness"),
        "light": (lambda s: _quality(s).brightness, LIGHT_CUTS, LIGHT_BINS, "brightness"),
    }
    result: dict[str, Any] = {}
    for name, (measure, cuts, bins, what) in measures.items():
        values = np.array([measure(s) for s in samples], dtype=np.float64)
        bin_of = np.digitize(values, cuts)
        cells = [_Cell(label, (bin_of == i)[:, None] & not_self) for i, label in enumerate(bins)]
        result[name] = {
            "measure": what,
            "cuts": list(cuts),
            "bins": list(bins),
            "cells": _cell_results(pairs, cells, threshold, target, rounds, seed),
        }
    result["mask"] = {"measured": False, "reason": MASK_NOT_MEASURED}
    return result


def _quality(sample: AuditSample) -> Quality:
    if sample.face.quality is None:
        raise ValueError(f"{sample.path}: no quality record; run the quality stage")
    return sample.face.quality


def _fmr(
    y_true: NDArray[np.bool_], y_pred: NDArray[np.bool_], sample_weight: NDArray[np.float64]
) -> float:
    impostor = ~np.asarray(y_true, dtype=bool)
    weight = np.asarray(sample_weight, dtype=np.float64)[impostor]
    hits = np.asarray(y_pred, dtype=bool)[impostor]
    return float(weight[hits].sum() / weight.sum()) if weight.sum() > 0 else np.nan


def _fnmr(
    y_true: NDArray[np.bool_], y_pred: NDArray[np.bool_], sample_weight: NDArray[np.float64]
) -> float:
    genuine = np.asarray(y_true, dtype=bool)
    weight = np.asarray(sample_weight, dtype=np.float64)[genuine]
    misses = ~np.asarray(y_pred, dtype=bool)[genuine]
    return float(weight[misses].sum() / weight.sum()) if weight.sum() > 0 else np.nan


def _cell_results(
    pairs: _Pairs,
    cells: Sequence[_Cell],
    threshold: float,
    target: float,
    rounds: int,
    seed: int,
) -> list[dict[str, Any]]:
    same_person = pairs.person[:, None] == pairs.person[None, :]
    matched = pairs.scores >= threshold
    # MetricFrame gets every pair as its (truth, decision) count per cell (sample_weight):
    # exact, and millions of pairs become at most four rows a cell.
    y_true, y_pred, feature, weight = [], [], [], []
    for code, cell in enumerate(cells):
        for truth in (True, False):
            for decision in (True, False):
                count = int(np.sum(cell.mask & (same_person == truth) & (matched == decision)))
                if count:
                    y_true.append(truth)
                    y_pred.append(decision)
                    feature.append(code)
                    weight.append(float(count))
    by_cell: dict[int, dict[str, float]] = {}
    if weight:
        frame = MetricFrame(
            metrics={"fmr": _fmr, "fnmr": _fnmr},
            y_true=np.array(y_true),
            y_pred=np.array(y_pred),
            sensitive_features=np.array(feature),
            sample_params={
                "fmr": {"sample_weight": np.array(weight)},
                "fnmr": {"sample_weight": np.array(weight)},
            },
        )
        by_cell = {
            int(k): {m: float(v) for m, v in row.items()} for k, row in frame.by_group.iterrows()
        }
    results = []
    for code, cell in enumerate(cells):
        point = by_cell.get(code, {"fmr": np.nan, "fnmr": np.nan})
        results.append(
            _one_cell(
                pairs, cell, same_person, matched, point, threshold, target, rounds, seed + code
            )
        )
    return results


def _one_cell(
    pairs: _Pairs,
    cell: _Cell,
    same_person: NDArray[np.bool_],
    matched: NDArray[np.bool_],
    point: dict[str, float],
    threshold: float,
    target: float,
    rounds: int,
    seed: int,
) -> dict[str, Any]:
    genuine = cell.mask & same_person
    impostor = cell.mask & ~same_person
    genuine_scores = pairs.scores[genuine]
    impostor_scores = pairs.scores[impostor]
    own = threshold_for_fmr(impostor_scores, target)
    people = np.unique(
        np.concatenate([pairs.person[genuine.any(1)], pairs.person[impostor.any(1)]])
    )
    small = []
    if genuine_scores.size < MIN_GENUINE_PAIRS:
        small.append(f"{genuine_scores.size} genuine pairs < {MIN_GENUINE_PAIRS}")
    if impostor_scores.size < 1.0 / target:
        small.append(f"{impostor_scores.size} impostor pairs < 1/target = {1.0 / target:g}")
    fmr_ci, fnmr_ci = _cluster_bootstrap(pairs, genuine, impostor, matched, rounds, seed)
    return {
        "name": cell.name,
        "people": int(people.size),
        "genuine_pairs": int(genuine_scores.size),
        "impostor_pairs": int(impostor_scores.size),
        "fmr": _finite(point["fmr"]),
        "fmr_ci95": fmr_ci,
        "fnmr": _finite(point["fnmr"]),
        "fnmr_ci95": fnmr_ci,
        "too_small": bool(small),
        "too_small_reason": "; ".join(small) or None,
        "threshold_for_target_fmr": own,
        "fnmr_at_own_threshold": (
            float(np.mean(genuine_scores < own))
            if own is not None and genuine_scores.size
            else None
        ),
        "threshold_shift": own - threshold if own is not None else None,
    }


def threshold_for_fmr(impostor_scores: NDArray[np.float64], target: float) -> float | None:
    """Lowest threshold (accept ``score >= t``) whose FMR on these scores is at most ``target``.

    None when there are fewer than ``1/target`` scores: the rate cannot be resolved.
    """
    if impostor_scores.size < 1.0 / target:
        return None
    return threshold_at_fmr(impostor_scores, target)


def _cluster_bootstrap(
    pairs: _Pairs,
    genuine: NDArray[np.bool_],
    impostor: NDArray[np.bool_],
    matched: NDArray[np.bool_],
    rounds: int,
    seed: int,
) -> tuple[list[float] | None, list[float] | None]:
    """95% percentile intervals of (FMR, FNMR), resampling people with replacement."""
    n_people = len(pairs.people)
    if rounds <= 0 or n_people == 0:
        return None, None
    # Per person (genuine) and per person pair (impostor): comparisons and errors.
    onehot = np.zeros((pairs.person.size, n_people))
    onehot[np.arange(pairs.person.size), pairs.person] = 1.0
    gen_n = onehot.T @ genuine.sum(1)
    gen_miss = onehot.T @ (genuine & ~matched).sum(1)
    imp_n = onehot.T @ impostor.astype(np.float64) @ onehot
    imp_hit = onehot.T @ (impostor & matched).astype(np.float64) @ onehot
    present = np.flatnonzero((gen_n > 0) | (imp_n.sum(0) > 0) | (imp_n.sum(1) > 0))
    if present.size == 0:
        return None, None
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(present.size, np.full(present.size, 1.0 / present.size), rounds)
    weights = np.zeros((rounds, n_people))
    weights[:, present] = draws
    fnmr = _ratio(weights @ gen_miss, weights @ gen_n)
    fmr = _ratio(
        np.sum((weights @ imp_hit) * weights, axis=1),
        np.sum((weights @ imp_n) * weights, axis=1),
    )
    return _interval(fmr), _interval(fnmr)


def _ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _interval(draws: NDArray[np.float64]) -> list[float] | None:
    if not np.isfinite(draws).any():
        return None
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return [float(low), float(high)]


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
