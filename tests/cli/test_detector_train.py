"""``facegate detector train`` end to end: a site's labelled and unlabelled pictures in,
weights, report and loss curve out; resume and bad input (needs torch for training)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facegate.cli.main import main
from facegate.fixtures import encode_png
from tests.vision.rcnn.faces import write_voc
from tests.vision.rcnn.test_pseudo_sources import portrait

DATASET_EXIT = 7
CONFIG_EXIT = 2


def test_a_bad_dataset_argument_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["detector", "train", "-d", "coco:x.json", "--out", str(tmp_path / "o")])
    assert code == DATASET_EXIT
    assert "unknown format 'coco'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_train_writes_weights_report_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    voc = write_voc(tmp_path / "site", 3)
    camera = tmp_path / "camera"
    camera.mkdir()
    (camera / "portrait.png").write_bytes(encode_png(portrait()))
    out = tmp_path / "run"
    args = ["--json", "detector", "train", "-d", f"voc:{voc / 'annotations'}"]
    args += ["--unlabelled", str(camera), "--steps", "2", "--batch-size", "2", "--out", str(out)]

    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    report = json.loads((out / "training.json").read_text())
    assert printed["sha256"] == report["sha256"]
    assert len(report["sha256"]) == 64
    assert report["steps_done"] == 2
    assert report["stopped_early"] is False
    assert report["images"] == {str(voc / "annotations"): 3, "pseudo-labelled": 1}
    assert report["faces"] == 4
    assert report["pseudo_labels"]["kept"] == 1
    assert (report["pseudo_labels"]["teacher"], report["pseudo_labels"]["min_score"]) == (
        "yunet",
        0.8,
    )
    assert report["settings"]["seed"] == 0
    for name in ("weights.pt", "checkpoint.pt", "loss.png"):
        assert (out / name).stat().st_size > 0

    # A second run never overwrites the checkpoint unasked; --resume picks it up.
    assert main(args) == CONFIG_EXIT
    assert "pass --resume" in capsys.readouterr().out
    assert main([*args, "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["steps_done"] == 2
