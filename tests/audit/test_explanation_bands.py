"""Smoke test of the margin-band shares on a few LFW people: the structure the audit report
gets, counts that add up, and genuine pairs mostly above the threshold, impostors below."""

from __future__ import annotations

import pytest

from facegate import fixtures
from facegate.audit.data import load_audit_data
from facegate.audit.explanations import explanation_bands
from facegate.fixtures import SHARED_DATA_ENV
from facegate.gate.explanation import MarginBand
from tests.conftest import REPO_ROOT

PEOPLE = 10
IMPOSTOR_PAIRS = 200


@pytest.mark.shared_data
def test_band_shares_of_genuine_and_impostor_pairs() -> None:
    root = fixtures.shared_data_dir(REPO_ROOT)
    if root is None:
        pytest.skip(f"shared face data not found beside {REPO_ROOT} (set {SHARED_DATA_ENV})")
    data = load_audit_data(
        root / "lfw_deepfunneled_subset", max_people=PEOPLE, max_images_per_person=4
    )

    found = explanation_bands(data, max_impostor_pairs=IMPOSTOR_PAIRS)

    assert found["operating_point"] == data.point.value
    genuine, impostor = found["genuine"], found["impostor"]
    assert isinstance(genuine, dict)
    assert isinstance(impostor, dict)
    assert impostor["n"] == IMPOSTOR_PAIRS
    assert genuine["n"] > 0
    for side in (genuine, impostor):
        bands = side["bands"]
        assert set(bands) == {band.value for band in MarginBand}
        assert sum(b["rate"] for b in bands.values()) == pytest.approx(1.0, abs=1e-9)
        for band in bands.values():
            low, high = band["ci95"]
            # Wilson's bounds at a share of 0 or 1 may miss it by a rounding error.
            assert low - 1e-12 <= band["rate"] <= high + 1e-12
    above = ("near_above", "far_above")
    assert sum(genuine["bands"][b]["rate"] for b in above) > 0.5
    assert impostor["bands"]["far_below"]["rate"] > 0.9
