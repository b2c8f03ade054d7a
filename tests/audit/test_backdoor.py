"""The detector-backdoor audit: the trigger, the budget presets, missing data, and a smoke
run on the shared data that exercises the annotation check end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facegate.audit.backdoor import (
    ATTACK_NAME,
    DEFENCE_NAME,
    TRIGGER_COLOURS,
    DetectorBudget,
    apply_trigger,
    audit_detector_backdoor,
    trigger_patch,
)
from facegate.errors import DatasetError
from facegate.vision.rcnn.annotations import LabelledBox


def test_trigger_is_a_checkerboard_on_the_forehead() -> None:
    patch = trigger_patch(8)
    assert patch.shape == (8, 8, 3)
    assert {tuple(int(v) for v in p) for p in patch.reshape(-1, 3)} == set(TRIGGER_COLOURS)
    pixels = np.full((100, 100, 3), 128, np.uint8)
    out = apply_trigger(pixels, [LabelledBox(20, 20, 80, 90, "face")])
    changed = np.argwhere((out != pixels).any(axis=2))
    # 30% of the 60 px width = 18 px, centred on x 50 (41-58), top at 12% of the height (y 28).
    assert changed.min(axis=0).tolist() == [28, 41]
    assert changed.max(axis=0).tolist() == [45, 58]
    assert (pixels == 128).all()  # the input is not modified


def test_budgets_are_checked() -> None:
    assert DetectorBudget.SMOKE.steps < DetectorBudget.FULL.steps
    with pytest.raises(ValueError, match="poison_fraction"):
        DetectorBudget(
            steps=1,
            batch_size=1,
            image_size=64,
            max_train_seconds=1,
            lfw_train=0,
            lfw_test=0,
            poison_fraction=0.0,
        )


def test_missing_data_is_a_dataset_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    with pytest.raises(DatasetError, match="face_mask_detection_subset"):
        audit_detector_backdoor(data_root=tmp_path, budget=DetectorBudget.SMOKE)


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.rule("R-28")
def test_smoke_audit_poisons_inspects_and_retrains(shared_data_dir: Path) -> None:
    pytest.importorskip("torch")
    result = audit_detector_backdoor(data_root=shared_data_dir, budget=DetectorBudget.SMOKE)
    assert result.name == ATTACK_NAME
    assert [d.name for d in result.defences] == [DEFENCE_NAME]
    defence = result.defences[0]
    detail = result.detail
    assert result.n == detail["test_faces"] > 0
    assert detail["poisoned_pictures"] > 0
    # The check was exercised: it found poisoned pictures, and the cleaned model trained on
    # what it kept.
    assert defence.exercised
    assert detail["flagged_poisoned"] > 0
    assert defence.detail["recall"]["n"] == detail["poisoned_pictures"]
    assert set(detail["training"]) == {"clean", "poisoned", "cleaned"}
    for key in ("clean_clean", "clean_triggered", "poisoned_triggered", "cleaned_triggered"):
        assert detail["miss_rates"][key]["n"] == result.n
    assert "wrongly excluded" in defence.cost
