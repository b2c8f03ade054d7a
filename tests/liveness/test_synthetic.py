"""Synthetic presentation attacks: deterministic, a camera frame, and visibly a medium."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.fixtures import astronaut
from facegate.liveness.synthetic import (
    CAPTURE_SIZE,
    SyntheticSpecies,
    recaptured_live,
    synthesise,
)
from facegate.models.registry import ModelRegistry
from facegate.vision.yunet import YunetDetector


@pytest.mark.parametrize("species", list(SyntheticSpecies))
def test_each_species_is_a_deterministic_camera_frame(species: SyntheticSpecies) -> None:
    first = synthesise(astronaut(), species, np.random.default_rng(7))
    again = synthesise(astronaut(), species, np.random.default_rng(7))
    other = synthesise(astronaut(), species, np.random.default_rng(8))
    width, height = CAPTURE_SIZE
    assert first.shape == (height, width, 3)
    assert first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("species", list(SyntheticSpecies))
def test_the_attack_still_shows_a_face_to_the_gate_detector(species: SyntheticSpecies) -> None:
    """An attack the detector cannot see is no attack: each species keeps a findable face."""
    found = 0
    for seed in range(3):
        frame = synthesise(astronaut(), species, np.random.default_rng(seed))
        found += bool(YunetDetector(ModelRegistry.default()).detect(frame))
    assert found >= 2


def test_live_recapture_keeps_the_photo_and_changes_its_camera() -> None:
    photo = astronaut()
    copy = recaptured_live(photo, np.random.default_rng(3))
    assert copy.ndim == 3
    assert copy.dtype == np.uint8
    assert copy.shape != photo.shape or not np.array_equal(copy, photo)
    assert np.array_equal(copy, recaptured_live(photo, np.random.default_rng(3)))
