"""score() versus decide(), 1:1 and 1:N, with exact expectations on constructed vectors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.errors import ConfigError
from facegate.matching import (
    Decision,
    OperatingPoint,
    Outcome,
    decide,
    identify,
    operating_point,
    score,
    verify,
)
from facegate.models.registry import ModelRegistry


def _vector(*values: tuple[int, float]) -> NDArray[np.float32]:
    v = np.zeros(128, dtype=np.float32)
    for index, value in values:
        v[index] = value
    return v


@dataclass(frozen=True)
class _Gallery:
    subject_ids: tuple[str, ...]
    embeddings: NDArray[np.float32]
    owners: NDArray[np.int64]


def test_score_is_one_minus_euclidean_distance() -> None:
    a = _vector((0, 0.3), (1, 0.4))
    b = _vector()
    assert score(a, b)[0, 0] == pytest.approx(0.5, abs=1e-7)
    matrix = score(np.stack([a, b]), np.stack([a, b, a]))
    assert matrix.shape == (2, 3)
    assert matrix[0] == pytest.approx([1.0, 0.5, 1.0], abs=1e-7)
    assert score(a, np.zeros((0, 128))).shape == (1, 0)


@pytest.mark.parametrize(
    ("bad", "message"),
    [(np.zeros(127), "shape"), (np.full(128, np.nan), "NaN"), (np.zeros((2, 2, 128)), "shape")],
)
def test_score_rejects_bad_vectors(bad: NDArray[np.float64], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        score(bad, np.zeros(128))


def test_decide_is_inclusive_and_higher_is_stricter() -> None:
    assert decide(0.5, 0.5) is Decision.MATCH
    assert decide(0.4999, 0.5) is Decision.NO_MATCH
    assert decide(0.6, 0.7) is Decision.NO_MATCH
    assert decide(0.6, 0.55) is Decision.MATCH


def test_verify_takes_the_best_template() -> None:
    probe = _vector((0, 1.0))
    templates = np.stack([_vector((0, 0.2)), _vector((0, 0.9)), _vector((1, 1.0))])
    result = verify(probe, templates, threshold=0.85)
    assert result.similarity == pytest.approx(0.9, abs=1e-6)
    assert result.decision is Decision.MATCH
    empty = verify(probe, np.zeros((0, 128), dtype=np.float32), 0.5)
    assert empty.decision is Decision.NO_MATCH
    assert empty.similarity == float("-inf")


def test_identify_best_subject_or_unknown() -> None:
    gallery = _Gallery(
        subject_ids=("alice", "bob"),
        embeddings=np.stack([_vector((0, 1.0)), _vector((1, 1.0)), _vector((1, 0.8))]),
        owners=np.array([0, 1, 1]),
    )
    near_bob = _vector((1, 0.75))
    found = identify(near_bob, gallery, threshold=0.9)
    assert (found.outcome, found.subject_id) == (Outcome.IDENTIFIED, "bob")
    assert found.similarity == pytest.approx(0.95, abs=1e-6)
    assert found.gallery_subjects == 2
    stranger = identify(_vector((5, 1.0)), gallery, threshold=0.9)
    assert (stranger.outcome, stranger.subject_id) == (Outcome.UNKNOWN, None)
    empty = _Gallery((), np.zeros((0, 128), dtype=np.float32), np.zeros(0, dtype=np.int64))
    assert identify(near_bob, empty, 0.5).outcome is Outcome.UNKNOWN


def test_operating_points_come_from_the_registry(registry: ModelRegistry) -> None:
    entry = registry.entry("dlib_resnet_v1")
    strict = operating_point(entry, OperatingPoint.FMR_1E4)
    assert strict.threshold == entry.operating_points["fmr_1e-4"].threshold
    with pytest.raises(ValueError, match="fmr_1e-9"):
        operating_point(entry, "fmr_1e-9")
    with pytest.raises(ConfigError, match="facegate calibrate"):
        operating_point(registry.entry("dlib_shape_predictor_5"), OperatingPoint.FMR_1E3)
