"""The enrollment guard's two checks on embeddings: a match to another enrolled subject
(the subject's own templates left out) and the differential morph check."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.gate.enrollment_guard import (
    DMAD_THRESHOLDS,
    differs_from_live,
    dmad_threshold_for,
    matches_other,
)
from facegate.gate.matcher import AnyGallery, CalibratedMatcher
from facegate.matching import OperatingPoint
from facegate.models.registry import ModelRegistry
from facegate.store.indexed_gallery import IndexedGallery, UsableTemplate
from facegate.store.records import Gallery
from facegate.vision.sface import SFACE

DOOR = 0.3


def _unit(seed: int) -> NDArray[np.float32]:
    vector = np.random.default_rng(seed).normal(size=128)
    unit: NDArray[np.float32] = (vector / np.linalg.norm(vector)).astype(np.float32)
    return unit


def _towards(a: NDArray[np.float32], b: NDArray[np.float32], t: float) -> NDArray[np.float32]:
    mixed = (1 - t) * a + t * b
    unit: NDArray[np.float32] = (mixed / np.linalg.norm(mixed)).astype(np.float32)
    return unit


class _Matcher(CalibratedMatcher):
    """The door at a fixed threshold, 1:1 and 1:N alike."""

    def __init__(self) -> None:
        super().__init__(ModelRegistry.default())

    def threshold(self, model: str, point: OperatingPoint) -> float:
        return DOOR

    def identification_threshold(
        self, model: str, point: OperatingPoint, gallery: AnyGallery
    ) -> float:
        return DOOR


def _flat(**people: NDArray[np.float32]) -> Gallery:
    ids = tuple(people)
    return Gallery(ids, np.stack(list(people.values())), np.arange(len(ids), dtype=np.int64))


def _indexed(**people: NDArray[np.float32]) -> IndexedGallery:
    """The store's cached gallery, each person with their face and two far templates."""
    return IndexedGallery(
        UsableTemplate(subject, f"{subject}-{k}", vector)
        for n, (subject, face) in enumerate(people.items())
        for k, vector in enumerate((_unit(100 + n), face, _unit(200 + n)))
    )


@pytest.mark.parametrize("build", [_flat, _indexed])
def test_a_face_of_another_enrolled_subject_matches_but_ones_own_does_not(
    build: Callable[..., Gallery | IndexedGallery],
) -> None:
    a, b = _unit(1), _unit(2)
    gallery = build(subject_a=a, subject_b=b)
    matcher = _Matcher()
    assert matches_other(np.stack([b]), gallery, "subject_a", matcher, SFACE)
    assert not matches_other(np.stack([a]), gallery, "subject_a", matcher, SFACE)
    assert not matches_other(np.stack([_unit(3)]), gallery, "subject_c", matcher, SFACE)
    assert not matches_other(np.stack([a]), build(subject_a=a), "subject_a", matcher, SFACE)


def test_the_differential_check_refuses_a_photo_far_from_the_live_capture() -> None:
    person, accomplice = _unit(1), _unit(2)
    live = np.stack([_towards(person, _unit(9), 0.05)])
    morph = _towards(person, accomplice, 0.5)
    threshold = 0.5
    assert differs_from_live(np.stack([morph]), live, threshold)
    assert not differs_from_live(np.stack([person]), live, threshold)
    # No live capture: nothing to compare with (the kiosk passes its frames as live).
    empty = np.empty((0, 128), np.float32)
    assert not differs_from_live(np.stack([morph]), empty, threshold)
    frames = np.stack([person, morph])
    assert differs_from_live(frames, frames, threshold)


def test_the_dmad_threshold_is_never_laxer_than_the_door() -> None:
    door = CalibratedMatcher(ModelRegistry.default()).threshold(SFACE, OperatingPoint("fmr_1e-4"))
    assert dmad_threshold_for(SFACE, door) == pytest.approx(max(door, DMAD_THRESHOLDS[SFACE]))
    assert dmad_threshold_for(SFACE, door) >= door
    assert dmad_threshold_for("uncalibrated_model", door) == door
