"""Verification metrics in pure numpy.

Conventions used throughout:

* A score is a similarity: higher means more alike. A pair is *accepted* when
  ``score >= threshold``; raising the threshold is stricter (lower FMR, higher FNMR).
* ``-inf`` marks a failure-to-acquire pair (no face, no embedding). Such a pair is always
  rejected, at every threshold, and still counts in the denominators: a genuine FTA is a
  false non-match, an impostor FTA is a correct rejection.
* ``nan`` and ``+inf`` scores are invalid and raise ``ValueError``.
* Score arrays are 1-D and converted to ``float64``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class ErrorCurve:
    """FMR/FNMR at every distinct finite score, plus a final ``+inf`` (accept nothing).

    All three arrays are ``float64`` of shape ``(n,)`` and sorted by ascending threshold, so
    ``fmr`` is non-increasing and ``fnmr`` non-decreasing.
    """

    thresholds: FloatArray
    fmr: FloatArray
    fnmr: FloatArray
    n_genuine: int
    n_impostor: int

    def eer(self) -> float:
        """Equal error rate: where the FMR and FNMR curves cross.

        Linearly interpolated between the two operating points that bracket the crossing.
        If the curves never cross (e.g. so many genuine FTAs that FNMR > FMR everywhere),
        the mean of FMR and FNMR at the most lenient threshold is returned.
        """
        diff = self.fnmr - self.fmr  # non-decreasing
        k = int(np.searchsorted(diff, 0.0, side="left"))
        if k == 0:
            return float((self.fmr[0] + self.fnmr[0]) / 2)
        if diff[k] == 0.0:
            return float(self.fmr[k])
        # Parametrise the segment P(k-1) -> P(k) and solve fmr == fnmr on it.
        d0, d1 = -float(diff[k - 1]), -float(diff[k])
        a = d0 / (d0 - d1)
        x0, x1 = float(self.fmr[k - 1]), float(self.fmr[k])
        return x0 + a * (x1 - x0)


@dataclass(frozen=True, slots=True)
class OperatingPointResult:
    """FNMR at the strictest-needed threshold for a target FMR (see ``fnmr_at_fmr``)."""

    target_fmr: float
    threshold: float
    fnmr: float
    fmr_achieved: float
    n_impostor: int
    n_genuine: int
    resolvable: bool


@dataclass(frozen=True, slots=True, eq=False)
class KFoldResult:
    """Held-out accuracy per fold.

    ``per_fold`` and ``thresholds`` are ``float64`` of shape ``(k,)``, ordered by ascending
    fold label. ``std`` is the sample standard deviation across folds (``ddof=1``), the
    "mean ± std" LFW papers usually quote; the standard error LFW's README defines is
    ``sem = std / sqrt(k)``.
    """

    mean: float
    std: float
    per_fold: FloatArray
    thresholds: FloatArray

    @property
    def sem(self) -> float:
        return self.std / math.sqrt(len(self.per_fold))


def _scores(x: npt.ArrayLike, name: str, *, allow_empty: bool = False) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    if np.isnan(arr).any() or np.isposinf(arr).any():
        raise ValueError(f"{name} contains nan or +inf (use -inf for failure to acquire)")
    return arr


def _accepted(sorted_scores: FloatArray, thresholds: FloatArray) -> IntArray:
    """Number of finite scores >= each threshold; ``sorted_scores`` ascending."""
    n_finite = sorted_scores.size - int(np.searchsorted(sorted_scores, -np.inf, side="right"))
    below = np.searchsorted(sorted_scores, thresholds, side="left")
    # A -inf threshold would otherwise accept the -inf (FTA) scores too.
    return np.minimum(sorted_scores.size - below, n_finite).astype(np.int64)


def error_rates(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> ErrorCurve:
    """FMR and FNMR at every distinct finite score of either set, then at ``+inf``.

    ``genuine`` and ``impostor`` are 1-D similarity scores (any length >= 1). Exact, and
    O(n log n): both sets are sorted once and counted with ``searchsorted``.
    """
    gen = np.sort(_scores(genuine, "genuine"))
    imp = np.sort(_scores(impostor, "impostor"))
    both = np.concatenate([gen, imp])
    thresholds = np.append(np.unique(both[np.isfinite(both)]), np.inf)
    fmr = _accepted(imp, thresholds) / imp.size
    fnmr = (gen.size - _accepted(gen, thresholds)) / gen.size
    return ErrorCurve(thresholds, fmr, fnmr, n_genuine=gen.size, n_impostor=imp.size)


def _allowed_false_matches(target_fmr: float, n: int) -> int:
    """Largest k with k / n <= target_fmr, robust to float rounding of target * n."""
    k = math.floor(target_fmr * n)
    if (k + 1) / n <= target_fmr:
        k += 1
    while k > 0 and k / n > target_fmr:
        k -= 1
    return k


def threshold_at_fmr(impostor: npt.ArrayLike, target_fmr: float) -> float:
    """Smallest float64 threshold whose FMR on ``impostor`` is <= ``target_fmr``.

    Strict: the FMR achieved never exceeds the target. With ``k = floor(target * n)``
    false matches allowed, the threshold is the next float above the (k+1)-th highest
    impostor score: only impostors strictly above that score are accepted (at most k),
    and no smaller threshold would keep that. Returns ``-inf`` when the allowance
    covers every finite impostor (only possible with FTA impostors), and
    ``nextafter(max, +inf)`` for ``target_fmr == 0``.
    """
    if not 0.0 <= target_fmr < 1.0:
        raise ValueError(f"target_fmr must be in [0, 1), got {target_fmr}")
    imp = _scores(impostor, "impostor")
    k = _allowed_false_matches(target_fmr, imp.size)
    finite = imp[np.isfinite(imp)]
    if k >= finite.size:
        return -math.inf
    # (k+1)-th highest; partition keeps this O(n) for millions of scores.
    idx = finite.size - k - 1
    pivot = float(np.partition(finite, idx)[idx])
    return math.nextafter(pivot, math.inf)


def fnmr_at_fmr(
    genuine: npt.ArrayLike, impostor: npt.ArrayLike, target_fmr: float
) -> OperatingPointResult:
    """FNMR at ``threshold_at_fmr(impostor, target_fmr)``.

    ``resolvable`` is False when ``n_impostor < 1 / target_fmr``: too few impostors to
    observe even one false match at that rate, so the threshold is set by the top
    impostor score alone. The numbers are still reported.
    """
    gen = np.sort(_scores(genuine, "genuine"))
    imp = np.sort(_scores(impostor, "impostor"))
    thr = threshold_at_fmr(imp, target_fmr)
    t = np.array([thr])
    fmr = int(_accepted(imp, t)[0]) / imp.size
    fnmr = (gen.size - int(_accepted(gen, t)[0])) / gen.size
    resolvable = imp.size * target_fmr >= 1.0 - 1e-9
    return OperatingPointResult(
        target_fmr=target_fmr,
        threshold=thr,
        fnmr=fnmr,
        fmr_achieved=fmr,
        n_impostor=int(imp.size),
        n_genuine=int(gen.size),
        resolvable=resolvable,
    )


def roc_auc(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> float:
    """Area under the ROC: P(genuine > impostor) + 0.5 * P(genuine == impostor).

    Mann–Whitney U over all genuine × impostor pairs, computed by sorting. Two FTA
    (``-inf``) scores tie.
    """
    gen = _scores(genuine, "genuine")
    imp = np.sort(_scores(impostor, "impostor"))
    less = np.searchsorted(imp, gen, side="left").astype(np.int64)
    less_eq = np.searchsorted(imp, gen, side="right").astype(np.int64)
    # Integer sums keep this exact until the final division.
    twice_u = int(less.sum()) + int(less_eq.sum())
    return twice_u / (2 * gen.size * imp.size)


def eer(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> float:
    """Equal error rate (see ``ErrorCurve.eer``)."""
    return error_rates(genuine, impostor).eer()


def stratified_folds(same: npt.ArrayLike, k: int) -> IntArray:
    """Fold label in ``0..k-1`` per pair: the r-th pair of each class goes to fold r % k.

    ``same`` is a 1-D bool array. Genuine and impostor pairs are each spread evenly across
    folds, in input order.
    """
    if k < 2:
        raise ValueError(f"need at least 2 folds, got {k}")
    s = np.asarray(same, dtype=bool)
    folds = np.empty(s.size, dtype=np.int64)
    for cls in (True, False):
        idx = np.flatnonzero(s == cls)
        folds[idx] = np.arange(idx.size, dtype=np.int64) % k
    return folds


def _best_threshold(scores: FloatArray, same: BoolArray) -> float:
    """Threshold maximising accuracy on (scores, same).

    Candidates are every distinct finite score and ``+inf``; on ties the most lenient wins.
    The returned value is the midpoint of the gap below the winning score, which accepts
    exactly the same training pairs but sits further from both classes.
    """
    gen = np.sort(scores[same])
    imp = np.sort(scores[~same])
    cand = np.append(np.unique(scores[np.isfinite(scores)]), np.inf)
    correct = _accepted(gen, cand) + (imp.size - _accepted(imp, cand))
    b = int(np.argmax(correct))
    if b == 0 or b == cand.size - 1:
        return float(cand[b])
    lo, hi = float(cand[b - 1]), float(cand[b])
    mid = lo + (hi - lo) / 2
    return mid if lo < mid <= hi else hi


def kfold_accuracy(
    scores: npt.ArrayLike,
    same: npt.ArrayLike,
    folds: npt.NDArray[np.integer] | int = 10,
) -> KFoldResult:
    """LFW-protocol accuracy: fit the threshold on k-1 folds, measure on the held-out one.

    ``scores``: 1-D float similarities; ``same``: 1-D bool, same length. ``folds`` is either
    an integer fold label per pair (any values, >= 2 distinct) or a fold count k, in which
    case ``stratified_folds(same, k)`` assigns them. The split is deterministic.
    """
    s = _scores(scores, "scores")
    y = np.asarray(same, dtype=bool)
    if y.shape != s.shape:
        raise ValueError(f"same has shape {y.shape}, scores {s.shape}")
    if isinstance(folds, int | np.integer):
        f = stratified_folds(y, int(folds))
        if np.unique(f).size < folds:
            raise ValueError(f"{folds} folds but some would be empty ({s.size} pairs)")
    else:
        f = np.asarray(folds)
        if f.shape != s.shape or not np.issubdtype(f.dtype, np.integer):
            raise ValueError("folds must be an integer array with the same shape as scores")
    labels = np.unique(f)
    if labels.size < 2:
        raise ValueError("need at least 2 non-empty folds")
    acc = np.empty(labels.size, dtype=np.float64)
    thr = np.empty(labels.size, dtype=np.float64)
    for n, label in enumerate(labels):
        test = f == label
        thr[n] = _best_threshold(s[~test], y[~test])
        predicted = np.isfinite(s[test]) & (s[test] >= thr[n])
        acc[n] = float(np.mean(predicted == y[test]))
    return KFoldResult(
        mean=float(acc.mean()), std=float(acc.std(ddof=1)), per_fold=acc, thresholds=thr
    )
