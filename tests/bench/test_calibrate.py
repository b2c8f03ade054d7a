"""Calibration: thresholds at target FMRs, and the signed file a site's calibration lives in."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from facegate.bench.calibrate import apply_calibration, calibrate, write_calibration
from facegate.errors import ConfigError
from facegate.models.registry import ModelRegistry, OperatingPointInfo
from facegate.store.crypto import SiteKey

MODEL = "dlib_resnet_v1"


@pytest.fixture
def points() -> dict[str, OperatingPointInfo]:
    rng = np.random.default_rng(7)
    genuine = rng.normal(0.7, 0.1, 2_000)
    impostor = rng.normal(0.2, 0.1, 50_000)
    return calibrate(genuine, impostor, "synthetic", "test")


def test_calibrate_meets_each_target(points: dict[str, OperatingPointInfo]) -> None:
    assert set(points) == {"fmr_1e-3", "fmr_1e-4"}
    assert points["fmr_1e-4"].threshold > points["fmr_1e-3"].threshold
    for point in points.values():
        assert point.fmr_measured <= point.target_fmr
        assert point.n_impostor == 50_000
        assert point.n_genuine == 2_000


def test_calibrate_refuses_what_it_cannot_measure() -> None:
    with pytest.raises(ConfigError, match=r"cannot resolve FMR 0\.0001"):
        calibrate(np.full(10, 0.9), np.linspace(0, 0.3, 5_000), "small", "test")
    with pytest.raises(ConfigError, match="no same-person pairs"):
        calibrate(np.zeros(0), np.linspace(0, 0.3, 50_000), "none", "test")


def test_signed_file_round_trips(tmp_path: Path, points: dict[str, OperatingPointInfo]) -> None:
    key = SiteKey(bytes(range(32)))
    path = write_calibration(tmp_path / "calibration.json", MODEL, points, key)
    registry = apply_calibration(ModelRegistry.default(), path, key)
    applied = registry.entry(MODEL).operating_points
    assert applied["fmr_1e-4"].threshold == points["fmr_1e-4"].threshold
    assert applied["fmr_1e-3"].calibrated_on == "synthetic"
    untouched = ModelRegistry.default().entry(MODEL).operating_points["fmr_1e-4"]
    assert untouched.threshold != points["fmr_1e-4"].threshold
    assert apply_calibration(registry, tmp_path / "absent.json", key) is registry


def test_edited_or_foreign_file_is_refused(
    tmp_path: Path, points: dict[str, OperatingPointInfo]
) -> None:
    key = SiteKey(bytes(range(32)))
    path = write_calibration(tmp_path / "calibration.json", MODEL, points, key)
    with pytest.raises(ConfigError, match="signature"):
        apply_calibration(ModelRegistry.default(), path, SiteKey(bytes(32)))
    document = json.loads(path.read_text())
    document["models"][MODEL]["fmr_1e-4"]["threshold"] = -1.0  # everyone would match
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="signature"):
        apply_calibration(ModelRegistry.default(), path, key)


@pytest.mark.parametrize(
    ("model", "point", "threshold", "message"),
    [
        (MODEL, "fmr_1e-4", "0.5", "threshold"),
        (MODEL, "fmr_1e-4", 3.0, "threshold"),
        (MODEL, "fmr_1e-9", 0.5, "fmr_1e-9"),
        ("no_such_model", "fmr_1e-4", 0.5, "no_such_model"),
    ],
)
def test_signed_but_insane_values_are_refused(
    tmp_path: Path,
    points: dict[str, OperatingPointInfo],
    model: str,
    point: str,
    threshold: object,
    message: str,
) -> None:
    key = SiteKey(bytes(range(32)))
    bad = {point: replace(points["fmr_1e-4"], name=point, threshold=threshold)}  # type: ignore[arg-type]
    path = write_calibration(tmp_path / "calibration.json", model, bad, key)
    with pytest.raises(ConfigError, match=message):
        apply_calibration(ModelRegistry.default(), path, key)
