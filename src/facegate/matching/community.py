"""1:N thresholds that hold for a whole community: a target FPIR at the site's gallery size.

A stranger at the gate is compared with every enrolled template; with N independent
comparisons at a per-comparison false match rate FMR(t), the chance that somebody matches
(false positive identification rate) is::

    FPIR(t, N) = 1 - (1 - FMR(t)) ** N        (≈ N * FMR(t) while small)

so a site of N templates needs the 1:1 threshold with ``FMR(t) = 1 - (1 - FPIR) ** (1 / N)``:
FPIR 1% needs FMR 1e-4 at N = 100 and 1e-6 at N = 10,000. Below what the calibration
measured, FMR(t) comes from the model's fitted impostor tail
(:mod:`facegate.models.impostor_tail`). Templates of one person are correlated, so
counting templates rather than people overstates N slightly: the threshold errs strict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from facegate.errors import ConfigError
from facegate.models.impostor_tail import ImpostorTail
from facegate.models.registry import ModelEntry

#: A stranger is taken for a resident at most once in a hundred attempts.
DEFAULT_FPIR = 0.01
#: Two-sided 90% interval for the threshold (normal quantile 0.95).
INTERVAL_Z = 1.645


@dataclass(frozen=True, slots=True)
class IdentificationThreshold:
    """Accept the top candidate when its score ``>= threshold`` (higher is stricter).

    ``comparison_fmr``: the per-comparison FMR the threshold is set for.
    ``interval``: ``(low, high)``, a 90% interval from the tail fit's sampling error.
    ``extrapolated``: ``comparison_fmr`` is below what the calibration measured (fewer than
    30 false matches expected among its impostor comparisons: Doddington's rule of 30).
    ``clamped``: ``comparison_fmr`` is above the fitted tail, whose start is returned;
    stricter than needed (FPIR below the target).
    """

    threshold: float
    interval: tuple[float, float]
    fpir: float
    gallery_size: int
    comparison_fmr: float
    extrapolated: bool
    clamped: bool


def comparison_fmr(fpir: float, gallery_size: int) -> float:
    """Per-comparison FMR giving ``fpir`` over ``gallery_size`` independent comparisons.

    >>> round(comparison_fmr(0.01, 10_000), 9)
    1.005e-06
    """
    _check(fpir, gallery_size)
    return -math.expm1(math.log1p(-fpir) / gallery_size)


def fpir_at(fmr: float, gallery_size: int) -> float:
    """FPIR over ``gallery_size`` independent comparisons at per-comparison ``fmr``."""
    if not 0.0 <= fmr <= 1.0:
        raise ValueError(f"fmr must be in [0, 1], got {fmr}")
    if gallery_size < 1:
        raise ValueError(f"gallery_size must be >= 1, got {gallery_size}")
    if fmr == 1.0:
        return 1.0
    return -math.expm1(gallery_size * math.log1p(-fmr))


def identification_threshold(
    entry: ModelEntry | ImpostorTail, gallery_size: int, fpir: float = DEFAULT_FPIR
) -> IdentificationThreshold:
    """The 1:N threshold for a gallery of ``gallery_size`` templates at target ``fpir``.

    Args:
        entry: the embedding model's registry entry (its calibrated ``impostor_tail``; a
            site's ``facegate calibrate`` replaces the packaged one), or a tail itself.
        gallery_size: templates a probe is compared with (>= 1).
        fpir: target false positive identification rate, in (0, 1).

    Raises:
        ValueError: ``gallery_size`` < 1 or ``fpir`` outside (0, 1).
        ConfigError: the model has no fitted impostor tail.
    """
    _check(fpir, gallery_size)
    tail = entry if isinstance(entry, ImpostorTail) else entry.impostor_tail
    if tail is None:
        name = entry.name if isinstance(entry, ModelEntry) else "?"
        raise ConfigError(
            f"model {name!r} has no fitted impostor tail for 1:N thresholds; "
            "run `facegate calibrate` on labelled data"
        )
    fmr = comparison_fmr(fpir, gallery_size)
    return IdentificationThreshold(
        threshold=tail.threshold_at(fmr),
        interval=tail.threshold_interval(fmr, INTERVAL_Z),
        fpir=fpir,
        gallery_size=gallery_size,
        comparison_fmr=fmr,
        extrapolated=fmr < tail.smallest_measured_fmr,
        clamped=fmr >= tail.tail_fraction,
    )


def _check(fpir: float, gallery_size: int) -> None:
    if not 0.0 < fpir < 1.0:
        raise ValueError(f"fpir must be in (0, 1), got {fpir}")
    if gallery_size < 1:
        raise ValueError(f"gallery_size must be >= 1, got {gallery_size}")
