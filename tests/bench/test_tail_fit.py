"""Fitting the impostor tail on synthetic scores whose tail is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facegate.bench.tail_fit import conservative_fit, fit_impostor_tail, gpd_pwm
from facegate.errors import ConfigError
from facegate.matching.community import identification_threshold


def _gpd(shape: float, scale: float, n: int, seed: int) -> np.ndarray:
    u = np.random.default_rng(seed).random(n)
    if shape == 0.0:
        return -scale * np.log(u)
    return scale / shape * (u**-shape - 1.0)


@pytest.mark.parametrize("shape", [-0.3, 0.0, 0.2])
def test_pwm_recovers_the_gpd_it_sampled(shape: float) -> None:
    fitted_shape, fitted_scale = gpd_pwm(_gpd(shape, 0.05, 200_000, seed=1))
    assert fitted_shape == pytest.approx(shape, abs=0.02)
    assert fitted_scale == pytest.approx(0.05, rel=0.03)


def test_a_bounded_tail_is_extrapolated_as_exponential() -> None:
    excesses = _gpd(-0.3, 0.05, 50_000, seed=2)
    shape, scale = conservative_fit(excesses)
    assert shape == 0.0
    assert scale == pytest.approx(float(excesses.mean()), rel=1e-12)
    heavy = _gpd(0.2, 0.05, 50_000, seed=2)
    assert conservative_fit(heavy) == gpd_pwm(heavy)


def test_exponential_scores_give_the_known_extreme_threshold() -> None:
    """Impostor scores 0.2 + Exp(0.03): FMR(t) = exp(-(t - 0.2) / 0.03) everywhere, so the
    threshold at FMR 1e-7 (far below the 2 million pairs) is 0.2 + 0.03 * ln(1e7)."""
    scores = 0.2 + _gpd(0.0, 0.03, 2_000_000, seed=3)
    tail = fit_impostor_tail(scores, "synthetic exponential")
    assert tail.n_exceedances == 2_000
    assert tail.tail_fraction == pytest.approx(1e-3, rel=1e-9)
    assert tail.location == pytest.approx(0.2 + 0.03 * math.log(1e3), abs=0.005)
    expected = 0.2 + 0.03 * math.log(1e7)
    assert tail.threshold_at(1e-7) == pytest.approx(expected, abs=0.01)
    low, high = tail.threshold_interval(1e-7, 3.0)
    assert low < expected < high
    # FPIR 1% over 100,000 templates is FMR 1.005e-7: the same answer through the 1:N door.
    community = identification_threshold(tail, 100_000, 0.01)
    assert community.extrapolated
    assert community.threshold == pytest.approx(expected, abs=0.01)


def test_failures_to_acquire_count_but_never_match() -> None:
    scores = 0.2 + _gpd(0.0, 0.03, 200_000, seed=4)
    with_fta = np.concatenate([scores, np.full(200_000, -np.inf)])
    tail = fit_impostor_tail(with_fta, "half without a face")
    assert tail.n_impostor == 400_000
    assert tail.n_exceedances == 400  # 0.1% of every comparison, all from the finite half
    assert tail.max_observed == pytest.approx(float(scores.max()), abs=0.0)


def test_a_small_set_fits_its_top_hundred() -> None:
    scores = np.linspace(0.0, 1.0, 20_000)
    tail = fit_impostor_tail(scores, "small")
    assert tail.n_exceedances == 100
    assert tail.tail_fraction == pytest.approx(100 / 20_000, rel=1e-12)


def test_too_few_or_flat_scores_are_refused() -> None:
    with pytest.raises(ConfigError, match="cannot fit a tail"):
        fit_impostor_tail(np.linspace(0, 1, 100), "tiny")
    with pytest.raises(ConfigError, match="cannot fit the impostor tail"):
        fit_impostor_tail(np.full(1_000, 0.3), "flat")  # nothing above the start
    with pytest.raises(ValueError, match="at least 2"):
        gpd_pwm(np.array([0.1]))
