"""Template protection measured: the unlinkability score, reconstruction, accuracy, renewal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate.audit.data import load_audit_data
from facegate.audit.protection import (
    KNOWN_PAIRS,
    UNPROTECTED,
    audit_template_protection,
    covariance_alignment,
    unlinkability,
)
from facegate.models.registry import ModelRegistry
from tests.audit.synthetic_gallery import gallery


def test_unlinkability_is_zero_for_one_distribution_and_one_when_apart() -> None:
    rng = np.random.default_rng(0)
    same = unlinkability(rng.normal(0, 1, 20_000), rng.normal(0, 1, 200_000))
    assert same["d_sys"] < 0.05
    apart = unlinkability(rng.normal(5, 0.1, 2_000), rng.normal(0, 0.1, 20_000))
    assert apart["d_sys"] == pytest.approx(1.0, abs=1e-6)
    assert len(apart["d_local"]) == 100
    assert unlinkability(np.array([]), np.array([1.0]))["d_sys"] is None


def test_covariance_alignment_recovers_a_hidden_rotation() -> None:
    rng = np.random.default_rng(1)
    # Distinct variances and skewed axes: the case the alignment can solve.
    plain = rng.exponential(1.0, (20_000, 8)) * np.linspace(3.0, 0.5, 8)
    rotation, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    mapping = covariance_alignment(plain, plain @ rotation.T)
    np.testing.assert_allclose(mapping @ rotation, np.eye(8), atol=0.05)


def test_protection_audit_on_synthetic_templates(registry: ModelRegistry) -> None:
    people = {f"p{i}": (4, 0.03) for i in range(40)}
    section = audit_template_protection(gallery(people, registry=registry), seed=0)
    across = section["unlinkability"]["across_sites"]
    # Plain templates link across sites; protected ones do not (the keys are used).
    assert across[UNPROTECTED]["d_sys"] > 0.9
    assert across["orthonormal"]["d_sys"] < 0.2
    assert across["sign"]["d_sys"] < 0.2
    assert across["orthonormal"]["n_mated"] == 40 * 4 * 3
    renewal = section["unlinkability"]["renewal_v1_v2"]
    assert renewal["orthonormal"]["d_sys"] < 0.2
    assert renewal["sign"]["d_sys"] < 0.2
    orthonormal = section["irreversibility"]["orthonormal"]
    by_k = {row["k"]: row for row in orthonormal["known_pairs"]}
    # 80 people's templates in the attacker's half: k above 80 is not run.
    assert set(by_k) == {k for k in KNOWN_PAIRS if k <= 80}
    assert by_k[64]["cosine_mean"] > by_k[16]["cosine_mean"]
    assert section["irreversibility"]["not_tested"]
    accuracy = section["accuracy"]
    assert accuracy["people"] == {"calibration": 20, "report": 20}
    assert accuracy[UNPROTECTED]["report_genuine_pairs"] == 20 * 6
    # Fewer than 1/target impostor pairs in the calibration half: no threshold is claimed.
    assert accuracy[UNPROTECTED]["threshold"] is None
    assert accuracy["orthonormal"]["calibration_impostor_pairs"] == 80 * 79 // 2 - 20 * 6


def test_reconstruction_is_exact_for_orthonormal_with_enough_pairs(
    registry: ModelRegistry,
) -> None:
    people = {f"p{i}": (4, 0.03) for i in range(300)}
    section = audit_template_protection(gallery(people, registry=registry), seed=0)
    rows = {r["k"]: r for r in section["irreversibility"]["orthonormal"]["known_pairs"]}
    assert rows[256]["cosine_mean"] > 0.99
    assert rows[16]["cosine_mean"] < 0.6
    sign_rows = {r["k"]: r for r in section["irreversibility"]["sign"]["known_pairs"]}
    assert sign_rows[256]["cosine_mean"] < rows[256]["cosine_mean"]
    # Orthonormal protection keeps every score: same calibrated threshold, same FNMR.
    accuracy = section["accuracy"]
    assert accuracy["orthonormal"]["threshold"] == pytest.approx(
        accuracy[UNPROTECTED]["threshold"], abs=1e-5
    )
    assert accuracy["orthonormal"]["fnmr"] == accuracy[UNPROTECTED]["fnmr"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_protection_audit_on_lfw_smoke(shared_data_dir: Path) -> None:
    data = load_audit_data(
        shared_data_dir / "lfw_deepfunneled_subset", max_people=12, max_images_per_person=4
    )
    section = audit_template_protection(data, seed=0)
    assert section["schemes"] == [UNPROTECTED, "orthonormal", "sign"]
    across = section["unlinkability"]["across_sites"]
    assert across[UNPROTECTED]["d_sys"] > across["orthonormal"]["d_sys"]
    assert set(section["accuracy"]) >= {UNPROTECTED, "orthonormal", "sign", "people"}
    assert section["templates"] == len(data.samples)
