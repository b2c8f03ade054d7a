"""The fitted upper tail of a model's impostor scores: FMR far below what was measured.

1:N at a site of N enrolled templates needs a per-comparison FMR near FPIR / N: at 10,000
templates and FPIR 1%, about 1e-6, which 3 million impostor pairs cannot resolve (about 3
false matches). Above a high score ``location`` (the top ``tail_fraction`` of the impostor
scores) the scores are modelled as a generalized Pareto distribution (GPD; the
Pickands–Balkema–de Haan theorem: the excesses over a high threshold of almost any
distribution are GPD), so that for ``t >= location``::

    FMR(t) = tail_fraction * (1 + shape * (t - location) / scale) ** (-1 / shape)

(``exp(-(t - location) / scale)`` for ``shape == 0``). Similarity scores are bounded above,
so ``shape`` is usually negative: the tail ends at ``location + scale / -shape``.

How the parameters are estimated (:func:`facegate.bench.tail_fit.fit_impostor_tail`) and
how uncertain they are (bootstrap standard errors, kept here so every extrapolated
threshold comes with an interval) is written in that module and in the README.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Below this |shape| the GPD is evaluated as its exponential limit (avoids 0/0).
_EXPONENTIAL_SHAPE = 1e-9
#: Relative step for the numerical gradient of the threshold in (shape, scale).
_GRADIENT_STEP = 1e-6
#: Doddington's rule of 30: an error rate is measured (to about ±30%, 90% confidence) once
#: 30 errors are observed; below that, the tail model speaks rather than the data.
RULE_OF_30 = 30


@dataclass(frozen=True, slots=True)
class ImpostorTail:
    """A GPD fitted to the impostor scores above ``location`` (higher score = more alike).

    ``shape_se``/``scale_se``/``shape_scale_corr``: bootstrap standard errors of the two
    parameters and their correlation. ``n_impostor``: every impostor comparison the fit
    saw, ``n_exceedances`` of them above ``location`` (``tail_fraction`` = their ratio).
    ``max_observed``: the highest impostor score.
    """

    location: float
    tail_fraction: float
    shape: float
    scale: float
    shape_se: float
    scale_se: float
    shape_scale_corr: float
    n_impostor: int
    n_exceedances: int
    max_observed: float
    method: str
    calibrated_on: str

    @property
    def smallest_measured_fmr(self) -> float:
        """30 / n_impostor (:data:`RULE_OF_30`): an FMR below this is an extrapolation."""
        return RULE_OF_30 / self.n_impostor

    def fmr(self, threshold: float) -> float:
        """Modelled FMR at ``threshold`` (``>= location``).

        Raises:
            ValueError: ``threshold`` is below ``location``, outside the fitted tail.
        """
        if threshold < self.location:
            raise ValueError(
                f"threshold {threshold} is below the fitted tail (location {self.location})"
            )
        z = (threshold - self.location) / self.scale
        if abs(self.shape) < _EXPONENTIAL_SHAPE:
            return self.tail_fraction * math.exp(-z)
        base = 1.0 + self.shape * z
        if base <= 0.0:
            return 0.0  # beyond the upper end point of a bounded tail
        return self.tail_fraction * math.pow(base, -1.0 / self.shape)

    def threshold_at(self, fmr: float) -> float:
        """The score whose modelled FMR is ``fmr``; ``location`` when ``fmr >= tail_fraction``
        (the tail says nothing below it: the caller gets a stricter threshold than asked).

        Raises:
            ValueError: ``fmr`` is not in (0, 1).
        """
        return _gpd_threshold(self.location, self.tail_fraction, self.shape, self.scale, fmr)

    def threshold_interval(self, fmr: float, z: float) -> tuple[float, float]:
        """``threshold_at(fmr)`` ± ``z`` standard errors (delta method over shape and scale,
        with their bootstrap covariance). ``z = 1.645`` gives a two-sided 90% interval."""
        centre = self.threshold_at(fmr)
        if fmr >= self.tail_fraction:
            return centre, centre

        def at(shape: float, scale: float) -> float:
            return _gpd_threshold(self.location, self.tail_fraction, shape, scale, fmr)

        h_shape = _GRADIENT_STEP * max(1.0, abs(self.shape))
        h_scale = _GRADIENT_STEP * self.scale
        d_shape = (at(self.shape + h_shape, self.scale) - at(self.shape - h_shape, self.scale)) / (
            2 * h_shape
        )
        d_scale = (at(self.shape, self.scale + h_scale) - at(self.shape, self.scale - h_scale)) / (
            2 * h_scale
        )
        variance = (
            (d_shape * self.shape_se) ** 2
            + (d_scale * self.scale_se) ** 2
            + 2 * d_shape * d_scale * self.shape_scale_corr * self.shape_se * self.scale_se
        )
        half = z * math.sqrt(max(variance, 0.0))
        return centre - half, centre + half


def _gpd_threshold(
    location: float, tail_fraction: float, shape: float, scale: float, fmr: float
) -> float:
    if not 0.0 < fmr < 1.0:
        raise ValueError(f"fmr must be in (0, 1), got {fmr}")
    if fmr >= tail_fraction:
        return location
    log_ratio = math.log(tail_fraction / fmr)
    if abs(shape) < _EXPONENTIAL_SHAPE:
        return location + scale * log_ratio
    return location + scale * math.expm1(shape * log_ratio) / shape


def parse_impostor_tail(raw: object) -> ImpostorTail:
    """An :class:`ImpostorTail` from its JSON object, every value checked.

    Raises:
        ValueError: a field is missing, unknown, of the wrong type or not a sane value.
    """
    if not isinstance(raw, dict):
        raise ValueError("impostor_tail must be an object")
    try:
        tail = ImpostorTail(**raw)
    except TypeError as exc:
        raise ValueError(f"impostor_tail: {exc}") from None
    floats = ("location", "tail_fraction", "shape", "scale", "shape_se", "scale_se")
    numbers = (*floats, "shape_scale_corr", "max_observed")
    if not all(
        isinstance(getattr(tail, name), int | float)
        and not isinstance(getattr(tail, name), bool)
        and math.isfinite(getattr(tail, name))
        for name in numbers
    ):
        raise ValueError("impostor_tail: every parameter must be a finite number")
    counts_ok = all(
        isinstance(n, int) and not isinstance(n, bool)
        for n in (tail.n_impostor, tail.n_exceedances)
    )
    if not (
        counts_ok
        and 1 <= tail.n_exceedances <= tail.n_impostor
        and -1.0 <= tail.location <= tail.max_observed <= 1.0
        and 0.0 < tail.tail_fraction < 1.0
        and tail.scale > 0.0
        and -1.0 < tail.shape < 1.0
        and tail.shape_se >= 0.0
        and tail.scale_se >= 0.0
        and -1.0 <= tail.shape_scale_corr <= 1.0
        and isinstance(tail.method, str)
        and isinstance(tail.calibrated_on, str)
    ):
        raise ValueError("impostor_tail: a parameter is out of range")
    return tail
