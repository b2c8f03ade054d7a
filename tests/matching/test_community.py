"""1:N thresholds at a gallery size, from an impostor tail whose answer is known."""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, replace

import pytest

from facegate.errors import ConfigError
from facegate.matching.community import (
    DEFAULT_FPIR,
    comparison_fmr,
    fpir_at,
    identification_threshold,
)
from facegate.models.impostor_tail import ImpostorTail, parse_impostor_tail
from facegate.models.registry import ModelRegistry

#: An exponential tail: FMR(t) = 1e-3 * exp(-(t - 0.4) / 0.02) for t >= 0.4.
EXPONENTIAL = ImpostorTail(
    location=0.4,
    tail_fraction=1e-3,
    shape=0.0,
    scale=0.02,
    shape_se=0.0,
    scale_se=0.001,
    shape_scale_corr=0.0,
    n_impostor=3_000_000,
    n_exceedances=3_000,
    max_observed=0.6,
    method="test",
    calibrated_on="synthetic",
)


def test_comparison_fmr_inverts_fpir() -> None:
    assert comparison_fmr(0.01, 10_000) == pytest.approx(1.00503e-6, rel=1e-5)
    assert comparison_fmr(0.01, 1) == pytest.approx(0.01, rel=1e-12)
    for n in (1, 7, 100, 10_000, 1_000_000):
        assert fpir_at(comparison_fmr(0.01, n), n) == pytest.approx(0.01, rel=1e-9)
    assert fpir_at(1.0, 3) == 1.0
    assert fpir_at(0.0, 3) == 0.0


def test_exponential_tail_gives_the_closed_form_threshold() -> None:
    result = identification_threshold(EXPONENTIAL, 10_000, 0.01)
    fmr = -math.expm1(math.log(0.99) / 10_000)
    assert result.comparison_fmr == pytest.approx(fmr, rel=1e-12)
    assert result.threshold == pytest.approx(0.4 + 0.02 * math.log(1e-3 / fmr), abs=1e-12)
    assert EXPONENTIAL.fmr(result.threshold) == pytest.approx(fmr, rel=1e-9)
    assert result.extrapolated  # 3 false matches expected in 3 million pairs: too few
    assert not result.clamped
    low, high = result.interval
    assert low < result.threshold < high
    # Only the scale is uncertain: threshold - location scales with it.
    half = 1.645 * 0.001 * math.log(1e-3 / fmr)
    assert high - result.threshold == pytest.approx(half, rel=1e-4)


def test_bounded_tail_round_trips_and_ends() -> None:
    tail = replace(EXPONENTIAL, shape=-0.25, shape_se=0.05, shape_scale_corr=-0.5)
    for fmr in (5e-4, 1e-5, 1e-8):
        assert tail.fmr(tail.threshold_at(fmr)) == pytest.approx(fmr, rel=1e-9)
    end_point = tail.location + tail.scale / 0.25
    assert tail.threshold_at(1e-20) < tail.threshold_at(1e-300) <= end_point
    assert tail.fmr(end_point + 0.01) == 0.0
    with pytest.raises(ValueError, match="below the fitted tail"):
        tail.fmr(0.3)


def test_bigger_gallery_needs_a_higher_threshold() -> None:
    sizes = [1, 2, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
    thresholds = [identification_threshold(EXPONENTIAL, n).threshold for n in sizes]
    assert thresholds == sorted(thresholds)
    assert thresholds[0] == thresholds[2]  # FMR >= 1e-3: the tail's start (clamped)
    assert all(a < b for a, b in itertools.pairwise(thresholds[2:]))
    # A lower FPIR is stricter too.
    assert (
        identification_threshold(EXPONENTIAL, 1_000, 0.001).threshold
        > identification_threshold(EXPONENTIAL, 1_000, 0.01).threshold
    )


def test_small_gallery_is_clamped_to_the_tail_start() -> None:
    result = identification_threshold(EXPONENTIAL, 5, DEFAULT_FPIR)  # FMR 2e-3 > 1e-3
    assert result.clamped
    assert not result.extrapolated
    assert result.threshold == EXPONENTIAL.location
    assert result.interval == (EXPONENTIAL.location, EXPONENTIAL.location)


def test_extrapolated_beyond_the_measured_pairs() -> None:
    assert not identification_threshold(EXPONENTIAL, 100).extrapolated  # FMR 1e-4: 300 seen
    assert identification_threshold(EXPONENTIAL, 10_000).extrapolated  # FMR 1e-6: 3 seen


@pytest.mark.parametrize(
    ("gallery_size", "fpir", "message"),
    [(0, 0.01, "gallery_size"), (10, 0.0, "fpir"), (10, 1.0, "fpir"), (10, -0.1, "fpir")],
)
def test_bad_arguments_are_refused(gallery_size: int, fpir: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        identification_threshold(EXPONENTIAL, gallery_size, fpir)


def test_entry_without_a_tail_asks_for_calibration() -> None:
    entry = ModelRegistry.default().entry("dlib_shape_predictor_5")
    with pytest.raises(ConfigError, match="no fitted impostor tail"):
        identification_threshold(entry, 100)


def test_registry_entry_with_a_tail() -> None:
    registry = ModelRegistry.default().with_impostor_tail("dlib_resnet_v1", EXPONENTIAL)
    entry = registry.entry("dlib_resnet_v1")
    assert entry.impostor_tail == EXPONENTIAL
    assert identification_threshold(entry, 1_000) == identification_threshold(EXPONENTIAL, 1_000)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scale", 0.0),
        ("tail_fraction", 1.0),
        ("shape", 1.5),
        ("location", math.nan),
        ("n_exceedances", 0),
        ("n_impostor", 10),
        ("shape_scale_corr", 2.0),
        ("n_impostor", True),
        ("location", "0.4"),
    ],
)
def test_insane_tails_are_refused(field: str, value: object) -> None:
    raw = asdict(EXPONENTIAL)
    assert parse_impostor_tail(dict(raw)) == EXPONENTIAL
    raw[field] = value
    with pytest.raises(ValueError, match="impostor_tail"):
        parse_impostor_tail(raw)
    with pytest.raises(ValueError, match="impostor_tail"):
        parse_impostor_tail({**raw, "unknown": 1})
    with pytest.raises(ValueError, match="object"):
        parse_impostor_tail([1, 2])
