"""Decisions at the packaged operating points on real LFW pairs (needs ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate.bench.datasets import read_lfw_pairs
from facegate.matching import Decision, OperatingPoint, decide, operating_point, score
from facegate.models.registry import ModelRegistry
from facegate.vision.detect import HogDetector
from facegate.vision.image import load_image
from facegate.vision.pipeline import FacePipeline, Selection

#: Every 19th pair of the subset's pairs.txt: 50 genuine and 50 impostor pairs.
STRIDE = 19


@pytest.mark.slow
def test_packaged_thresholds_on_real_pairs(
    shared_data_dir: Path, pipeline: FacePipeline, registry: ModelRegistry
) -> None:
    pairs = read_lfw_pairs(shared_data_dir / "lfw_deepfunneled_subset" / "pairs.txt")[::STRIDE]
    entry = registry.entry(pipeline.embedding_model)
    lenient = operating_point(entry, OperatingPoint.FMR_1E3).threshold
    strict = operating_point(entry, OperatingPoint.FMR_1E4).threshold
    outcomes: dict[tuple[bool, float], list[bool]] = {}
    for pair in pairs:
        a, b = (
            pipeline.subject(load_image(p), Selection.CENTRAL).embedding
            for p in (pair.path_a, pair.path_b)
        )
        assert a is not None
        assert b is not None
        similarity = float(score(a, b)[0, 0])
        for threshold in (lenient, strict):
            matched = decide(similarity, threshold) is Decision.MATCH
            outcomes.setdefault((pair.same, threshold), []).append(matched)
    # Calibrated all-vs-all: FNMR 12.4% at 1e-3 and 39.7% at 1e-4, FMR ≤ 1e-3 / 1e-4.
    # Bounds leave room for sampling 50 pairs; no impostor may pass at either point.
    assert np.mean(outcomes[(True, lenient)]) >= 0.75
    assert np.mean(outcomes[(True, strict)]) >= 0.4
    assert not any(outcomes[(False, lenient)])
    assert not any(outcomes[(False, strict)])


def test_cnn_fallback_on_an_lfw_photo_hog_misses(
    shared_data_dir: Path, pipeline: FacePipeline
) -> None:
    photo = shared_data_dir / "lfw_deepfunneled_subset/images/Andy_Roddick/Andy_Roddick_0005.jpg"
    image = load_image(photo)
    assert HogDetector().detect(image) == []
    face = pipeline.subject(image, Selection.CENTRAL)
    assert face.embedding is not None
    assert 40 <= face.box.center[0] <= 210
