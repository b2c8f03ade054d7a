"""Smoke test of the morph attack on a few LFW people: the report's structure, both defences
exercised, pairs chosen by embedding alone, calibration and report halves disjoint."""

from __future__ import annotations

import numpy as np
import pytest

from facegate import fixtures
from facegate.audit.data import AuditData, load_audit_data
from facegate.audit.morph import (
    DMAD,
    NAME,
    REFUSE_MATCH,
    audit_morphs,
    look_alike_pairs,
    morph_images,
    split_people,
)
from facegate.fixtures import SHARED_DATA_ENV
from tests.conftest import REPO_ROOT

PEOPLE = 12


@pytest.fixture(scope="module")
def data() -> AuditData:
    """A few people's photos through the shipped engine, once for the module."""
    root = fixtures.shared_data_dir(REPO_ROOT)
    if root is None:
        pytest.skip(f"shared face data not found beside {REPO_ROOT} (set {SHARED_DATA_ENV})")
    return load_audit_data(
        root / "lfw_deepfunneled_subset", max_people=PEOPLE, max_images_per_person=4
    )


def test_a_morph_is_a_full_image_between_its_two_photos() -> None:
    first = np.zeros((60, 50, 3), np.uint8)
    second = np.full((60, 50, 3), 200, np.uint8)
    points = np.array([[15, 20], [35, 20], [25, 30], [18, 42], [32, 42]], np.float32)
    morph = morph_images(first, points, second, points + 1.0)
    assert morph.shape == first.shape
    assert morph.dtype == np.uint8
    assert np.allclose(morph[20:40, 15:35], 100, atol=1)
    with pytest.raises(ValueError, match="alpha"):
        morph_images(first, points, second, points, alpha=1.5)


@pytest.mark.shared_data
@pytest.mark.rule("R-26")
def test_look_alikes_are_paired_by_embedding_within_each_half(data: AuditData) -> None:
    calibration, report = split_people(data, seed=0)
    assert calibration
    assert report
    assert not set(calibration) & set(report)
    pairs = look_alike_pairs(data, report)
    assert pairs
    assert all(a in report and b in report and a != b for a, b, _ in pairs)
    likeness = [like for _, _, like in pairs]
    assert likeness == sorted(likeness, reverse=True)


@pytest.mark.shared_data
def test_the_morph_audit_reports_both_defences(data: AuditData) -> None:
    result = audit_morphs(data, max_morphs=3, seed=0)
    assert result.name == NAME
    assert 0 < result.n <= 3
    assert [d.name for d in result.defences] == [REFUSE_MATCH, DMAD]
    for defence in result.defences:
        assert defence.exercised
        assert defence.n == result.n
        assert defence.success_defended <= result.success_undefended
        assert "genuine" in defence.cost or "bona fide" in defence.cost
    dmad = result.defences[1].detail
    assert dmad["calibration_people"] + dmad["report_people"] <= PEOPLE
    assert 0.0 <= dmad["genuine_refusal"] <= 1.0
    assert result.detail["mean_score_to_enroller"] is not None
