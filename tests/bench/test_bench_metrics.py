from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from facegate.bench.metrics import (
    eer,
    error_rates,
    fnmr_at_fmr,
    kfold_accuracy,
    roc_auc,
    stratified_folds,
    threshold_at_fmr,
)

GEN = [0.9, 0.8, 0.4]
IMP = [0.1, 0.5, 0.3, 0.2]
INF = math.inf


def up(x: float) -> float:
    return math.nextafter(x, INF)


def test_error_rates_hand_case() -> None:
    c = error_rates(GEN, IMP)
    assert_array_equal(c.thresholds, [0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.9, INF])
    assert_array_equal(c.fmr, [1, 3 / 4, 2 / 4, 1 / 4, 1 / 4, 0, 0, 0])
    assert_array_equal(c.fnmr, [0, 0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    assert (c.n_genuine, c.n_impostor) == (3, 4)


def test_error_rates_match_brute_force_with_ties() -> None:
    rng = np.random.default_rng(1)
    gen = np.round(rng.normal(1, 1, 300), 1)
    imp = np.round(rng.normal(0, 1, 500), 1)
    c = error_rates(gen, imp)
    for t, fmr, fnmr in zip(c.thresholds, c.fmr, c.fnmr, strict=True):
        assert fmr == np.mean(imp >= t)
        assert fnmr == np.mean(gen < t)
    assert np.all(np.diff(c.thresholds) > 0)


def test_roc_auc_hand_case_and_ties() -> None:
    # 0.9 and 0.8 beat all 4 impostors, 0.4 beats 3 of them: 11 of 12 pairs.
    assert roc_auc(GEN, IMP) == 11 / 12
    assert roc_auc([0.5], [0.5]) == 0.5
    assert roc_auc([0.5, 0.7], [0.5]) == 0.75
    assert roc_auc([0.0], [1.0]) == 0.0


def test_roc_auc_matches_brute_force() -> None:
    rng = np.random.default_rng(2)
    gen = np.round(rng.normal(1, 1, 200), 1)
    imp = np.round(rng.normal(0, 1, 300), 1)
    diff = gen[:, None] - imp[None, :]
    expected = (np.sum(diff > 0) + 0.5 * np.sum(diff == 0)) / diff.size
    assert roc_auc(gen, imp) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize(
    ("target", "expected"),
    [(0.0, up(0.5)), (0.1, up(0.5)), (0.25, up(0.3)), (0.49, up(0.3)), (0.5, up(0.2))],
)
def test_threshold_at_fmr_hand_case(target: float, expected: float) -> None:
    assert threshold_at_fmr(IMP, target) == expected


def test_threshold_at_fmr_is_strict_and_smallest() -> None:
    rng = np.random.default_rng(3)
    imp = np.round(rng.normal(0, 1, 2000), 2)
    for target in (1e-3, 0.01, 0.05, 0.1, 0.3):
        t = threshold_at_fmr(imp, target)
        assert np.mean(imp >= t) <= target
        assert np.mean(imp >= math.nextafter(t, -INF)) > target


def test_threshold_at_fmr_survives_float_rounding() -> None:
    # 0.29 * 100 == 28.999999999999996: a naive floor would allow only 28 false matches.
    imp = np.arange(100) / 100
    assert fnmr_at_fmr([1.0], imp, 0.29).fmr_achieved == 0.29


def test_fnmr_at_fmr_hand_case() -> None:
    r = fnmr_at_fmr(GEN, IMP, 0.25)
    assert (r.threshold, r.fnmr, r.fmr_achieved) == (up(0.3), 0.0, 0.25)
    assert (r.n_genuine, r.n_impostor, r.resolvable) == (3, 4, True)
    r0 = fnmr_at_fmr(GEN, IMP, 0.0)
    assert (r0.threshold, r0.fnmr, r0.fmr_achieved) == (up(0.5), 1 / 3, 0.0)
    assert not r0.resolvable


def test_fnmr_at_fmr_unresolvable_still_reports() -> None:
    r = fnmr_at_fmr(GEN, IMP, 0.1)  # 4 impostors < 1 / 0.1
    assert not r.resolvable
    assert (r.threshold, r.fnmr, r.fmr_achieved) == (up(0.5), 1 / 3, 0.0)
    assert fnmr_at_fmr(GEN, np.zeros(10), 0.1).resolvable


def test_minus_inf_is_always_rejected() -> None:
    c = error_rates([0.9, -INF], [0.1, -INF])
    assert_array_equal(c.thresholds, [0.1, 0.9, INF])
    assert_array_equal(c.fmr, [0.5, 0, 0])
    assert_array_equal(c.fnmr, [0.5, 0.5, 1])
    # One false match allowed of 3 impostors, but only one is finite: accept everything.
    assert threshold_at_fmr([-INF, -INF, 0.3], 0.5) == -INF
    r = fnmr_at_fmr([0.2, -INF], [-INF, -INF, 0.3], 0.5)
    assert (r.fnmr, r.fmr_achieved) == (0.5, 1 / 3)
    assert roc_auc([-INF], [-INF]) == 0.5
    assert roc_auc([0.0], [-INF]) == 1.0


@pytest.mark.parametrize("bad", [[math.nan], [INF], [], [[0.1]]])
def test_invalid_scores_raise(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="genuine"):
        error_rates(bad, IMP)


@pytest.mark.parametrize("target", [-0.1, 1.0])
def test_threshold_at_fmr_rejects_bad_target(target: float) -> None:
    with pytest.raises(ValueError, match="target_fmr"):
        threshold_at_fmr(IMP, target)


def test_eer() -> None:
    assert eer(GEN, IMP) == 0.25  # FMR stays 1/4 while FNMR jumps 0 -> 1/3
    assert eer([0.9, 0.6, 0.4], [0.5, 0.3]) == pytest.approx(1 / 3)  # FNMR flat at 1/3
    assert eer([0.5, 0.9], [0.5, 0.1]) == 0.25  # diagonal segment (0.5, 0) -> (0, 0.5)
    assert eer([0.8, 0.9], [0.1, 0.2]) == 0.0


def test_stratified_folds() -> None:
    same = [True, True, False, True, False, False, True]
    assert_array_equal(stratified_folds(same, 2), [0, 1, 0, 0, 1, 0, 1])
    assert_array_equal(stratified_folds(same, 3), [0, 1, 0, 2, 1, 2, 0])
    with pytest.raises(ValueError, match="2 folds"):
        stratified_folds(same, 1)


def test_kfold_separable_is_perfect() -> None:
    rng = np.random.default_rng(4)
    scores = np.r_[rng.uniform(0.6, 1.0, 50), rng.uniform(0.0, 0.4, 50)]
    same = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    r = kfold_accuracy(scores, same, 10)
    assert (r.mean, r.std) == (1.0, 0.0)
    assert r.per_fold.shape == r.thresholds.shape == (10,)
    assert np.all((r.thresholds > 0.4) & (r.thresholds < 0.6))


def test_kfold_constructed_case() -> None:
    scores = [0.875, 0.25, 0.5, 0.125, 0.75, 0.625, 0.125, 0.375]
    same = [True, True, False, False, True, True, False, False]
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    r = kfold_accuracy(scores, same, folds)
    # Fold 1 trains fold 0: best 0.625, midpoint of the gap (0.375, 0.625] -> 0.5;
    # on fold 0 it rejects genuine 0.25 and accepts impostor 0.5 -> 2/4.
    # Fold 0 trains fold 1's 3/4 tie between 0.25 and 0.875: the lenient one wins, midpoint
    # 0.1875; on fold 1 it accepts impostor 0.375 -> 3/4.
    assert_array_equal(r.thresholds, [0.5, 0.1875])
    assert_array_equal(r.per_fold, [0.5, 0.75])
    assert r.mean == 0.625
    assert r.std == pytest.approx(0.25 / math.sqrt(2))
    assert r.sem == pytest.approx(0.125)


def test_kfold_int_folds_equal_explicit_stratified() -> None:
    rng = np.random.default_rng(5)
    same = rng.random(200) < 0.3
    scores = rng.normal(0, 1, 200) + same
    a = kfold_accuracy(scores, same, 5)
    b = kfold_accuracy(scores, same, stratified_folds(same, 5))
    assert_array_equal(a.per_fold, b.per_fold)
    assert 0.5 < a.mean < 1.0


def test_kfold_counts_fta_genuine_as_errors() -> None:
    scores = [0.9, -INF, 0.1, 0.2, 0.8, 0.7, 0.3, 0.0]
    same = [True, True, False, False, True, True, False, False]
    r = kfold_accuracy(scores, same, np.array([0, 0, 0, 0, 1, 1, 1, 1]))
    assert_array_equal(r.per_fold, [0.75, 1.0])


def test_kfold_rejects_bad_folds() -> None:
    with pytest.raises(ValueError, match="empty"):
        kfold_accuracy([0.1, 0.9, 0.2], [True, True, False], 3)
    with pytest.raises(ValueError, match="2 non-empty folds"):
        kfold_accuracy([0.1, 0.9], [True, False], np.array([1, 1]))
    with pytest.raises(ValueError, match="shape"):
        kfold_accuracy([0.1, 0.9], [True], 2)
