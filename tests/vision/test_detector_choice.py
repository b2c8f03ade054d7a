"""The detector setting: HOG by default, the site's Faster R-CNN with ``detector=rcnn``.

The rcnn tests install an untrained model (its detections are arbitrary): they check the
wiring and the registry's checks, not accuracy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.api.state import AppState
from facegate.cli.main import main
from facegate.core.config import DetectorChoice, Engine, Environment, Settings, load_settings
from facegate.errors import ConfigError, MissingDependencyError, ModelIntegrityError
from facegate.models.registry import ModelRegistry
from facegate.models.site import apply_site_models, install_site_model
from facegate.store import Store
from facegate.store.crypto import SiteKey
from facegate.vision.detect import CascadeDetector, HogDetector, MmodDetector
from facegate.vision.pipeline import FacePipeline, check_detector
from facegate.vision.rcnn.config import SITE_DETECTOR_MODEL
from facegate.vision.record import Face
from facegate.vision.yunet import YunetDetector

KEY = SiteKey(bytes(range(32)))


@pytest.fixture(autouse=True)
def _no_facegate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings read FACEGATE_* variables; a developer's shell must not leak into tests.
    for name in list(os.environ):
        if name.startswith("FACEGATE_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def untrained_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An exported, untrained detector with the default config."""
    pytest.importorskip("torch")
    from facegate.vision.rcnn.config import RcnnConfig
    from facegate.vision.rcnn.model import build_model
    from facegate.vision.rcnn.weights import export_weights

    config = RcnnConfig()
    path = tmp_path_factory.mktemp("weights") / "untrained.pt"
    return export_weights(build_model(config), config, path)


def _install(data_dir: Path, weights: Path, key: SiteKey = KEY) -> None:
    install_site_model(
        data_dir, key, SITE_DETECTOR_MODEL, "detector", weights, "site-trained", "test"
    )


def test_yunet_is_the_default_engines_detector_and_rcnn_needs_the_dlib_engine(
    pipeline: FacePipeline, registry: ModelRegistry
) -> None:
    assert Settings().engine is Engine.SFACE
    assert isinstance(pipeline.detector, YunetDetector)
    with pytest.raises(ConfigError, match="--engine dlib"):
        FacePipeline.default(registry, detector=DetectorChoice.RCNN)
    with pytest.raises(ConfigError, match="--engine dlib"):
        check_detector(registry, DetectorChoice.RCNN, Engine.SFACE)


def test_hog_is_the_dlib_default_and_unchanged(dlib_pipeline: FacePipeline) -> None:
    assert Settings().detector is DetectorChoice.HOG
    detector = dlib_pipeline.detector
    assert isinstance(detector, CascadeDetector)
    assert [type(d) for d in detector.detectors] == [HogDetector, MmodDetector]
    chosen = FacePipeline.default(
        ModelRegistry.default(), detector=DetectorChoice.HOG, engine=Engine.DLIB
    )
    assert isinstance(chosen.detector, CascadeDetector)
    assert [type(d) for d in chosen.detector.detectors] == [HogDetector, MmodDetector]


def test_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEGATE_DETECTOR", "rcnn")
    assert load_settings().detector is DetectorChoice.RCNN
    monkeypatch.setenv("FACEGATE_DETECTOR", "yolo")
    with pytest.raises(ConfigError, match="detector"):
        load_settings()


def test_unknown_detector_is_refused(registry: ModelRegistry) -> None:
    with pytest.raises(ValueError, match="'yolo' is not a valid DetectorChoice"):
        FacePipeline.default(registry, detector="yolo")  # type: ignore[arg-type]


def test_rcnn_without_a_site_model_says_how_to_install_one(registry: ModelRegistry) -> None:
    pytest.importorskip("torch")
    with pytest.raises(ConfigError, match=r"run `facegate detector install WEIGHTS`"):
        FacePipeline.default(registry, detector=DetectorChoice.RCNN, engine=Engine.DLIB)
    check_detector(registry, DetectorChoice.HOG)  # HOG needs nothing of the site


def test_pipeline_with_rcnn_runs_the_site_detector(
    tmp_path: Path, untrained_weights: Path, face_rgb: NDArray[np.uint8]
) -> None:
    from facegate.vision.rcnn.detector import RcnnDetector

    _install(tmp_path, untrained_weights)
    registry = apply_site_models(ModelRegistry.default(), tmp_path, KEY)
    pipeline = FacePipeline.default(registry, detector=DetectorChoice.RCNN, engine=Engine.DLIB)
    assert isinstance(pipeline.detector, RcnnDetector)
    assert pipeline.detector.name == "rcnn"
    faces, seconds = pipeline.detect(face_rgb)
    assert isinstance(faces, list)
    assert all(isinstance(face, Face) for face in faces)  # untrained: how many is arbitrary
    assert seconds > 0.0
    assert pipeline.embedding_model == "dlib_resnet_v1"  # only detection changed


@pytest.mark.rule("R-28")
def test_r28_swapped_site_detector_is_refused(tmp_path: Path, untrained_weights: Path) -> None:
    _install(tmp_path, untrained_weights)
    registry = apply_site_models(ModelRegistry.default(), tmp_path, KEY)
    installed = registry.default_path(SITE_DETECTOR_MODEL)
    data = bytearray(installed.read_bytes())
    data[-100] ^= 0x01
    installed.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=SITE_DETECTOR_MODEL):
        FacePipeline.default(registry, detector=DetectorChoice.RCNN, engine=Engine.DLIB)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    settings = Settings(data_dir=tmp_path / "data", env=Environment.DEVELOPMENT)
    with Store.open(settings) as opened:
        yield opened


def test_service_state_uses_the_setting_and_the_site_models(
    store: Store, untrained_weights: Path
) -> None:
    from facegate.vision.rcnn.detector import RcnnDetector

    hog = Settings(
        data_dir=store.settings.data_dir, env=Environment.DEVELOPMENT, engine=Engine.DLIB
    )
    rcnn = hog.model_copy(update={"detector": DetectorChoice.RCNN})
    with pytest.raises(ConfigError, match="facegate detector install"):
        AppState(rcnn, store, ModelRegistry.default())  # refused at start-up, not per request
    _install(hog.data_dir, untrained_weights, store.site_key)
    with AppState(hog, store, ModelRegistry.default()).pipelines.borrow() as pipeline:
        assert isinstance(pipeline.detector, CascadeDetector)
    state = AppState(rcnn, store, ModelRegistry.default())
    assert SITE_DETECTOR_MODEL in state.registry.names
    with state.pipelines.borrow() as pipeline:
        assert isinstance(pipeline.detector, RcnnDetector)


def test_serve_with_rcnn_and_no_model_fails_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    monkeypatch.setenv("FACEGATE_ENV", "development")
    code = main(
        ["--data-dir", str(tmp_path / "data"), "--engine", "dlib", "serve", "--detector", "rcnn"]
    )
    assert code == ConfigError.exit_code
    assert "run `facegate detector install WEIGHTS`" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "data" / "facegate.sqlite").exists()  # stopped before the store


def test_rcnn_without_torch_says_which_extra(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if torch were not installed: a None entry makes the import system report it absent.
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"needs torch: install facegate\[rcnn\]"):
        FacePipeline.default(registry, detector=DetectorChoice.RCNN, engine=Engine.DLIB)
