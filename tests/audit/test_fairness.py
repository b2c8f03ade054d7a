"""Fairness: per-group and per-condition FMR/FNMR, the groups CSV, the cluster bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate.audit.data import load_audit_data
from facegate.audit.fairness import (
    BETWEEN_GROUPS,
    UNLABELLED,
    audit_fairness,
    read_group_labels,
    threshold_for_fmr,
)
from facegate.errors import DatasetError
from facegate.models.registry import ModelRegistry
from tests.audit.synthetic_gallery import gallery, quality

pytest.importorskip("fairlearn", reason="the audit extra (facegate[audit]) is not installed")

#: 30 people × 5 images per group: 300 genuine and 10,875 impostor pairs (≥ 1/1e-4).
PER_GROUP = 30


def _people() -> dict[str, tuple[int, float]]:
    people = {f"tight_{i}": (5, 0.01) for i in range(PER_GROUP)}
    people |= {f"loose_{i}": (5, 0.06) for i in range(PER_GROUP)}
    people |= {f"nolabel_{i}": (3, 0.01) for i in range(3)}
    return people


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "groups.csv"
    path.write_text(body, encoding="utf-8")
    return path


def _groups_csv(tmp_path: Path) -> Path:
    rows = [f"tight_{i},G1" for i in range(PER_GROUP)] + [f"loose_{i},G2" for i in range(PER_GROUP)]
    return _csv(tmp_path, "identity,group\n" + "\n".join([*rows, "not_audited,G1"]) + "\n")


@pytest.mark.rule("R-26")
def test_group_rates_come_from_the_auditors_csv(tmp_path: Path, registry: ModelRegistry) -> None:
    data = gallery(_people(), registry=registry)
    section = audit_fairness(data, groups_csv=_groups_csv(tmp_path), rounds=200)
    groups = section["groups"]
    assert groups["unknown_identities"] == 1
    assert groups["unlabelled_people"] == 3
    cells = {c["name"]: c for c in groups["cells"]}
    assert set(cells) == {"G1", "G2", UNLABELLED, BETWEEN_GROUPS}
    for name in ("G1", "G2"):
        assert cells[name]["people"] == PER_GROUP
        assert cells[name]["genuine_pairs"] == PER_GROUP * 10
        assert cells[name]["impostor_pairs"] == 150 * 149 // 2 - PER_GROUP * 10
        assert cells[name]["too_small"] is False
        assert cells[name]["threshold_for_target_fmr"] is not None
    assert cells["G1"]["fnmr"] == 0.0
    loose = cells["G2"]
    assert loose["fnmr"] > 0.05
    low, high = loose["fnmr_ci95"]
    assert low <= loose["fnmr"] <= high
    # Impostor pairs across groups are reported apart; genuine pairs never cross groups.
    assert cells[BETWEEN_GROUPS]["genuine_pairs"] == 0
    assert cells[BETWEEN_GROUPS]["impostor_pairs"] == 150 * 150 + 300 * 9
    assert cells[UNLABELLED]["genuine_pairs"] == 9
    assert cells[UNLABELLED]["too_small"] is True
    assert section["target_fmr"] == pytest.approx(1e-4)


@pytest.mark.rule("R-26")
def test_without_a_csv_there_are_no_groups(registry: ModelRegistry) -> None:
    section = audit_fairness(gallery(_people(), registry=registry), groups_csv=None, rounds=10)
    assert "cells" not in section["groups"]
    assert "R-26" in section["groups"]["skipped"]
    assert section["conditions"]["mask"]["measured"] is False


def test_bootstrap_resamples_people_not_pairs(tmp_path: Path, registry: ModelRegistry) -> None:
    # One person's 10 genuine pairs all fail; 29 others never do. Resampling pairs would
    # almost never draw zero failures (10 of 300); resampling people leaves that person out of
    # about a third of the rounds, so the interval reaches 0.
    people = {f"p{i}": (5, 0.01) for i in range(29)} | {"spread": (5, 0.3)}
    section = audit_fairness(
        gallery(people, registry=registry),
        groups_csv=_csv(tmp_path, "identity,group\n" + "".join(f"{p},G\n" for p in people)),
        rounds=400,
    )
    cell = next(c for c in section["groups"]["cells"] if c["name"] == "G")
    assert cell["fnmr"] == pytest.approx(10 / 300)
    assert cell["fnmr_ci95"][0] == 0.0
    assert cell["fnmr_ci95"][1] > 10 / 300


def test_condition_bins_use_the_probe_and_fixed_cuts(registry: ModelRegistry) -> None:
    people = {f"p{i}": (4, 0.01) for i in range(10)}
    qualities = {(f"p{i}", 0): quality(yaw=-0.2, sharpness=0.1, brightness=50.0) for i in range(10)}
    qualities |= {(f"p{i}", 1): quality(yaw=0.30) for i in range(10)}
    data = gallery(people, registry=registry, qualities=qualities)
    conditions = audit_fairness(data, groups_csv=None, rounds=10)["conditions"]
    pose = {c["name"]: c for c in conditions["pose"]["cells"]}
    assert conditions["pose"]["cuts"] == [0.15, 0.30]
    # Ordered pairs: each probe against the person's 3 other images and the 36 others'.
    assert pose["turned"]["genuine_pairs"] == 10 * 3
    assert pose["strongly_turned"]["genuine_pairs"] == 10 * 3
    assert pose["frontal"]["genuine_pairs"] == 10 * 2 * 3
    assert pose["frontal"]["impostor_pairs"] == 10 * 2 * 36
    blur = {c["name"]: c for c in conditions["blur"]["cells"]}
    assert blur["blurred"]["genuine_pairs"] == 30
    light = {c["name"]: c for c in conditions["light"]["cells"]}
    assert light["dark"]["genuine_pairs"] == 30
    assert light["bright"]["genuine_pairs"] == 0
    assert light["bright"]["fnmr"] is None
    assert light["bright"]["too_small"] is True


def test_threshold_for_fmr_accepts_at_most_the_target_share() -> None:
    scores = np.arange(20_000, dtype=np.float64) / 20_000
    threshold = threshold_for_fmr(scores, 1e-4)
    assert threshold is not None
    assert int(np.sum(scores >= threshold)) == 2
    assert int(np.sum(scores >= np.nextafter(threshold, -np.inf) - 1e-4)) > 2
    assert threshold_for_fmr(scores[:9_999], 1e-4) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("name,group\na,G\n", "columns"),
        ("identity,group\na,G\na,H\n", "two groups"),
        ("identity,group\na,\n", "empty"),
    ],
)
def test_bad_groups_csv_is_refused(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        read_group_labels(_csv(tmp_path, body), ["a"])


def test_missing_groups_csv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        read_group_labels(tmp_path / "absent.csv", ["a"])


@pytest.mark.shared_data
@pytest.mark.slow
def test_fairness_on_lfw_smoke(shared_data_dir: Path, tmp_path: Path) -> None:
    data = load_audit_data(
        shared_data_dir / "lfw_deepfunneled_subset", max_people=12, max_images_per_person=4
    )
    people = sorted(data.by_identity())
    rows = "".join(f"{p},{'A' if i % 2 else 'B'}\n" for i, p in enumerate(people[:-2]))
    section = audit_fairness(data, groups_csv=_csv(tmp_path, "identity,group\n" + rows), rounds=50)
    cells = {c["name"]: c for c in section["groups"]["cells"]}
    assert set(cells) == {"A", "B", UNLABELLED, BETWEEN_GROUPS}
    assert section["groups"]["unlabelled_people"] == 2
    assert sum(c["genuine_pairs"] for c in cells.values()) == sum(
        len(s) * (len(s) - 1) // 2 for s in data.by_identity().values()
    )
    assert all(c["too_small"] for c in cells.values())
    for name in ("pose", "blur", "light"):
        genuine = sum(c["genuine_pairs"] for c in section["conditions"][name]["cells"])
        assert genuine == sum(len(s) * (len(s) - 1) for s in data.by_identity().values())
