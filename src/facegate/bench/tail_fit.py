"""Fitting the upper tail of the impostor scores (see :mod:`facegate.models.impostor_tail`).

Estimation: the tail starts at the score exceeded by the top ``tail_fraction`` of the
impostor comparisons (:data:`TAIL_FRACTION`, raised so that at least
:data:`MIN_EXCEEDANCES` scores lie above it). The excesses over it get a generalized
Pareto distribution by probability-weighted moments (Hosking & Wallis, Technometrics 29,
1987): closed form, no optimiser, and for the bounded tails of similarity scores
(shape < 0) as efficient as maximum likelihood at these sample sizes.

Uncertainty: the excesses are resampled with replacement :data:`BOOTSTRAP_RESAMPLES`
times (seeded) and refitted; the standard deviations of shape and scale and their
correlation are stored with the fit, and every extrapolated threshold is reported with a
delta-method interval from them. This covers the sampling error of the fit, not the
model error of assuming the GPD holds far beyond the data, nor the dependence between
all-vs-all pairs that share an image (both make the true uncertainty larger).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facegate.errors import ConfigError
from facegate.models.impostor_tail import ImpostorTail

#: The tail is fitted to the top 0.1% of impostor scores: about 3,000 of the LFW
#: development subset's 2,964,270 pairs, well inside the GPD's asymptotic regime.
TAIL_FRACTION = 1e-3
#: At least this many scores above the tail's start; fewer pairs move the start down.
MIN_EXCEEDANCES = 100
BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 0
#: Hosking's plotting position ``(i - 0.35) / k`` for the probability-weighted moment.
_PLOTTING_OFFSET = 0.35
METHOD = (
    "generalized Pareto by probability-weighted moments (Hosking & Wallis 1987), "
    "shape floored at 0 (exponential)"
)


def gpd_pwm(excesses: npt.NDArray[np.float64]) -> tuple[float, float]:
    """``(shape, scale)`` of a GPD for ``excesses`` (``> 0``, 1-D) by probability-weighted
    moments. ``shape`` > 0 is a heavy tail, 0 exponential, < 0 bounded. Not floored.

    Raises:
        ValueError: fewer than 2 excesses, or all equal (no spread to fit).
    """
    x = np.sort(np.asarray(excesses, dtype=np.float64))
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"need at least 2 excesses, got shape {x.shape}")
    k = x.size
    a0 = float(x.mean())
    survival = 1.0 - (np.arange(1, k + 1) - _PLOTTING_OFFSET) / k
    a1 = float(np.mean(survival * x))
    denominator = a0 - 2.0 * a1
    if not denominator > 0.0:
        raise ValueError("excesses have no spread to fit a tail to")
    return 2.0 - a0 / denominator, 2.0 * a0 * a1 / denominator


def conservative_fit(excesses: npt.NDArray[np.float64]) -> tuple[float, float]:
    """:func:`gpd_pwm`, but a bounded tail (shape < 0) becomes the exponential tail with
    the same mean excess (shape 0): never a lower extrapolated threshold than that."""
    shape, scale = gpd_pwm(excesses)
    if shape < 0.0:
        return 0.0, float(np.mean(excesses))
    return shape, scale


def fit_impostor_tail(
    impostor: npt.ArrayLike,
    calibrated_on: str,
    *,
    tail_fraction: float = TAIL_FRACTION,
    min_exceedances: int = MIN_EXCEEDANCES,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> ImpostorTail:
    """Fit the tail of ``impostor`` (1-D similarity scores; ``-inf`` = failure to acquire,
    counted as a comparison that never matches).

    Raises:
        ConfigError: fewer than ``min_exceedances`` finite scores, or they have no spread.
    """
    scores = np.asarray(impostor, dtype=np.float64).ravel()
    finite = np.sort(scores[np.isfinite(scores)])
    n = scores.size
    if finite.size <= min_exceedances:
        raise ConfigError(
            f"{finite.size} impostor scores cannot fit a tail: more than {min_exceedances} "
            "are needed (add images of more people)"
        )
    k = max(min_exceedances, int(tail_fraction * n))
    k = min(k, finite.size - 1)
    location = float(finite[-k - 1])
    excesses = finite[-k:] - location
    # Ties at the start would give zero excesses; keep only scores strictly above it.
    excesses = excesses[excesses > 0.0]
    try:
        shape, scale = conservative_fit(excesses)
        rng = np.random.default_rng(seed)
        draws = np.array(
            [conservative_fit(rng.choice(excesses, excesses.size)) for _ in range(resamples)]
        )
    except ValueError as exc:
        raise ConfigError(f"cannot fit the impostor tail: {exc}") from exc
    shape_se, scale_se = (float(v) for v in draws.std(axis=0, ddof=1))
    # With every draw floored to shape 0 the shape has no spread (and no correlation).
    corr = float(np.corrcoef(draws.T)[0, 1]) if shape_se > 0 and scale_se > 0 else 0.0
    return ImpostorTail(
        location=location,
        tail_fraction=excesses.size / n,
        shape=shape,
        scale=scale,
        shape_se=shape_se,
        scale_se=scale_se,
        shape_scale_corr=corr,
        n_impostor=int(n),
        n_exceedances=int(excesses.size),
        max_observed=float(finite[-1]),
        method=f"{METHOD}, top {excesses.size} of {n} scores, {resamples} bootstrap resamples",
        calibrated_on=calibrated_on,
    )
