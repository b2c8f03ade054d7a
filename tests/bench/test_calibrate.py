"""Calibration: thresholds at target FMRs, and the signed file a site's calibration lives in."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from facegate.bench.calibrate import apply_calibration, calibrate, write_calibration
from facegate.bench.tail_fit import fit_impostor_tail
from facegate.errors import ConfigError
from facegate.models.impostor_tail import ImpostorTail
from facegate.models.registry import ModelRegistry, OperatingPointInfo
from facegate.store.audit import canonical_json
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


def test_fmr_1e5_only_where_the_impostors_resolve_it() -> None:
    rng = np.random.default_rng(8)
    genuine = rng.normal(0.7, 0.1, 2_000)
    points = calibrate(genuine, rng.normal(0.2, 0.1, 100_000), "synthetic", "test")
    assert set(points) == {"fmr_1e-3", "fmr_1e-4", "fmr_1e-5"}
    assert points["fmr_1e-5"].threshold > points["fmr_1e-4"].threshold
    assert points["fmr_1e-5"].fmr_measured <= 1e-5
    fewer = calibrate(genuine, rng.normal(0.2, 0.1, 99_999), "synthetic", "test")
    assert "fmr_1e-5" not in fewer


@pytest.fixture
def tail() -> ImpostorTail:
    return fit_impostor_tail(np.random.default_rng(9).normal(0.2, 0.1, 50_000), "synthetic")


def test_signed_file_carries_the_impostor_tail(
    tmp_path: Path, points: dict[str, OperatingPointInfo], tail: ImpostorTail
) -> None:
    key = SiteKey(bytes(range(32)))
    path = write_calibration(tmp_path / "calibration.json", MODEL, points, key, tail)
    registry = apply_calibration(ModelRegistry.default(), path, key)
    assert registry.entry(MODEL).impostor_tail == tail
    assert registry.entry(MODEL).operating_points["fmr_1e-4"] == points["fmr_1e-4"]


def test_calibration_file_without_a_tail_still_loads(
    tmp_path: Path, points: dict[str, OperatingPointInfo]
) -> None:
    """A file written before tails existed: only the points, signed on their own."""
    key = SiteKey(bytes(range(32)))
    models = {MODEL: {name: asdict(p) for name, p in points.items()}}
    document = {"models": models, "signature": key.sign_config(canonical_json(models).encode())}
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(document))
    registry = apply_calibration(ModelRegistry.default(), path, key)
    entry = registry.entry(MODEL)
    assert entry.operating_points["fmr_1e-4"] == points["fmr_1e-4"]
    assert entry.impostor_tail == ModelRegistry.default().entry(MODEL).impostor_tail


@pytest.mark.parametrize("edit", ["drop", "shift", "insane"])
def test_edited_tail_is_refused(
    tmp_path: Path, points: dict[str, OperatingPointInfo], tail: ImpostorTail, edit: str
) -> None:
    key = SiteKey(bytes(range(32)))
    path = write_calibration(tmp_path / "calibration.json", MODEL, points, key, tail)
    document = json.loads(path.read_text())
    if edit == "drop":  # back to the old format: the signature covered the tail too
        del document["impostor_tails"]
    elif edit == "shift":  # a lower tail would let strangers in at big sites
        document["impostor_tails"][MODEL]["location"] -= 0.1
    else:  # signed, but not a tail
        bad = {MODEL: {**document["impostor_tails"][MODEL], "scale": -1.0}}
        payload = canonical_json({"models": document["models"], "impostor_tails": bad})
        document = {
            **document,
            "impostor_tails": bad,
            "signature": key.sign_config(payload.encode()),
        }
    path.write_text(json.dumps(document))
    message = "not a valid calibration file" if edit == "insane" else "signature"
    with pytest.raises(ConfigError, match=message):
        apply_calibration(ModelRegistry.default(), path, key)
