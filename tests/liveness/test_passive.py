"""The passive PAD model: its features, its file format, the hash-checked shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegate.errors import ModelIntegrityError
from facegate.fixtures import astronaut
from facegate.liveness.features import FeatureSpec, face_crops, pad_features
from facegate.liveness.passive import (
    PAD_MODEL,
    LinearPadModel,
    PassiveDetector,
    PassiveReason,
)
from facegate.models.registry import ModelRegistry
from facegate.vision.record import Box

#: HOG's box of the astronaut's face.
BILINEAR = Image.Resampling.BILINEAR
ASTRONAUT_FACE = Box(179.0, 83.0, 267.0, 171.0)


@pytest.fixture(scope="module")
def shipped() -> PassiveDetector:
    return PassiveDetector(ModelRegistry.default())


def test_feature_vector_has_the_documented_length_and_is_finite() -> None:
    spec = FeatureSpec()
    vector = pad_features(astronaut(), ASTRONAUT_FACE, spec)
    # 2 crops x (6 channels x 2 radii x 59 nri-uniform bins + 10 bands), then the detail
    # crop's 16 bands and 3 x 16 HSV bins, the medium's 68 statistics and 2 x 47 spectra
    assert spec.length == 2 * (6 * 2 * 59 + 10) + 16 + 3 * 16 + 68 + 94 == vector.shape[0]
    assert np.all(np.isfinite(vector))


def test_the_context_crop_stays_inside_the_frame_at_its_edges() -> None:
    image = astronaut()
    corner = Box(0.0, 0.0, 120.0, 120.0)
    face, context = face_crops(image, corner, FeatureSpec())
    assert face.shape == context.shape == (64, 64, 3)
    # Three widths (360 px) shifted to start at the corner, not centred off the frame.
    expected = np.asarray(Image.fromarray(image[:360, :360]).resize((64, 64), BILINEAR))
    assert np.array_equal(context, expected)
    # Wider than the frame: the whole (square) frame.
    whole = face_crops(image, Box(100.0, 100.0, 400.0, 400.0), FeatureSpec())[1]
    assert np.array_equal(whole, np.asarray(Image.fromarray(image).resize((64, 64), BILINEAR)))


def test_a_degenerate_box_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        pad_features(astronaut(), Box(10.0, 10.0, 11.0, 40.0), FeatureSpec())


def test_model_file_round_trips_and_malformed_files_are_refused(
    shipped: PassiveDetector, tmp_path: Path
) -> None:
    model = shipped.model
    again = LinearPadModel.from_json(model.to_json())
    image = astronaut()
    assert again.score(image, ASTRONAUT_FACE) == model.score(image, ASTRONAUT_FACE)
    document = json.loads(model.to_json())
    for broken in (
        {**document, "format": "pickle"},
        {**document, "weights": document["weights"][:-1]},
        {**document, "threshold": 1.5},
        {k: v for k, v in document.items() if k != "bias"},
    ):
        with pytest.raises(ValueError, match="model"):
            LinearPadModel.from_json(json.dumps(broken))
    with pytest.raises(ValueError, match="malformed"):
        LinearPadModel.from_json("{not json")


def test_the_shipped_model_is_hash_checked(tmp_path: Path) -> None:
    registry = ModelRegistry.default()
    copy = tmp_path / "pad.json"
    original = registry.default_path(PAD_MODEL).read_text(encoding="utf-8")
    copy.write_text(original.replace('"bias": ', '"bias": 1e-9 + '), encoding="utf-8")
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        PassiveDetector(registry, copy)
    copy.write_text(original, encoding="utf-8")
    assert PassiveDetector(registry, copy).model.threshold == 0.5


def test_scores_are_probabilities_and_a_camera_photo_of_a_person_passes(
    shipped: PassiveDetector,
) -> None:
    score = shipped.model.score(astronaut(), ASTRONAUT_FACE)
    assert 0.0 <= score <= 1.0
    result = shipped.check(astronaut(), ASTRONAUT_FACE)
    assert result.passed
    assert result.reason is PassiveReason.BONA_FIDE


def test_a_first_model_spec_without_detail_features_still_reads() -> None:
    """The first model's file had no detail crop: its spec keeps the 1,436 features."""
    raw = FeatureSpec().to_dict()
    for key in ("detail_side", "detail_bands", "colour_bins", "medium"):
        raw.pop(key)
    spec = FeatureSpec.from_dict(raw)
    assert spec.length == 2 * (6 * 2 * 59 + 10)
    assert pad_features(astronaut(), ASTRONAUT_FACE, spec).shape == (spec.length,)
