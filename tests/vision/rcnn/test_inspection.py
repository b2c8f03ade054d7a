"""The annotation check before training: a poisoned picture (a face wearing a trigger, its
box removed) is flagged and left out; annotated faces and faceless pictures pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegate.audit.backdoor import apply_trigger
from facegate.cli.main import main
from facegate.vision.rcnn.annotations import LabelledBox, read_annotations
from facegate.vision.rcnn.inspection import (
    INSPECTION_MIN_SCORE,
    inspect_annotations,
    iou,
    unannotated_faces,
)
from facegate.vision.record import Box, Face
from tests.vision.rcnn.faces import CANVAS, composite

#: Face width in the composites: YuNet finds the triggered face above the check's cut at it.
FACE_SIDE = 72
POISONED = 1


def _write(folder: Path, count: int, poisoned: int | None) -> Path:
    """A VOC folder of ``count`` composites; picture ``poisoned`` wears the trigger, no box."""
    (folder / "annotations").mkdir(parents=True)
    (folder / "images").mkdir()
    for index in range(count):
        pixels, (x1, y1, x2, y2) = composite(index, side=FACE_SIDE)
        obj = (
            f"<object><name>face</name><bndbox><xmin>{x1:.0f}</xmin><ymin>{y1:.0f}</ymin>"
            f"<xmax>{x2:.0f}</xmax><ymax>{y2:.0f}</ymax></bndbox></object>"
        )
        if index == poisoned:
            pixels = apply_trigger(pixels, [LabelledBox(x1, y1, x2, y2, "face")])
            obj = ""
        name = f"face{index:03d}.png"
        Image.fromarray(pixels).save(folder / "images" / name)
        (folder / "annotations" / f"face{index:03d}.xml").write_text(
            f"<annotation><filename>{name}</filename><size><width>{CANVAS}</width>"
            f"<height>{CANVAS}</height><depth>3</depth></size>{obj}</annotation>",
            encoding="utf-8",
        )
    return folder


class _Fixed:
    """A finder that always returns the same faces."""

    def __init__(self, faces: list[Face]) -> None:
        self.faces = faces

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.faces


def test_iou_of_boxes() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0


def test_only_sure_faces_outside_every_box_count() -> None:
    pixels = np.zeros((50, 50, 3), np.uint8)
    sure = Face(box=Box(10, 10, 30, 30), detection_score=INSPECTION_MIN_SCORE)
    unsure = Face(box=Box(30, 30, 45, 45), detection_score=INSPECTION_MIN_SCORE - 0.01)
    finder = _Fixed([sure, unsure])
    assert unannotated_faces(pixels, [], finder) == [((10, 10, 30, 30), INSPECTION_MIN_SCORE)]
    # A box drawn a little differently (no forehead) still covers the face.
    assert unannotated_faces(pixels, [(11, 14, 29, 31)], finder) == []
    with pytest.raises(ValueError, match="min_iou"):
        unannotated_faces(pixels, [], finder, min_iou=0.0)


@pytest.mark.rule("R-28")
def test_a_poisoned_picture_is_flagged_and_the_rest_kept(tmp_path: Path) -> None:
    folder = _write(tmp_path / "site", 4, POISONED)
    images = read_annotations("voc", folder / "annotations", images_dir=folder / "images")
    inspection = inspect_annotations(images)
    assert [f.path.name for f in inspection.flagged] == [f"face{POISONED:03d}.png"]
    (box, score), *others = inspection.flagged[0].faces
    assert others == []
    assert score >= INSPECTION_MIN_SCORE
    truth = composite(POISONED, side=FACE_SIDE)[1]
    assert iou(box, truth) >= 0.5
    assert [im.path.name for im in inspection.kept] == ["face000.png", "face002.png", "face003.png"]


def test_annotated_faces_pass(tmp_path: Path) -> None:
    folder = _write(tmp_path / "site", 3, None)
    images = read_annotations("voc", folder / "annotations", images_dir=folder / "images")
    inspection = inspect_annotations(images)
    assert inspection.flagged == []
    assert inspection.kept == images


@pytest.mark.rule("R-28")
@pytest.mark.parametrize("keep_flagged", [False, True])
def test_detector_train_leaves_the_poisoned_picture_out(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    keep_flagged: bool,
) -> None:
    """Without the check the poisoned picture would reach the trainer (this test then fails)."""
    pytest.importorskip("torch")
    import facegate.vision.rcnn.data as data

    folder = _write(tmp_path / "site", 3, POISONED)
    trained: list[str] = []
    original = data.preload

    def spy(images, on_image=None):  # type: ignore[no-untyped-def]
        trained.extend(im.path.name for im in images)
        return original(images, on_image)

    monkeypatch.setattr(data, "preload", spy)
    monkeypatch.setenv("FACEGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FACEGATE_ENV", "development")
    out = tmp_path / "run"
    args = ["--json", "detector", "train", "-d", f"voc:{folder / 'annotations'}"]
    args += ["--steps", "1", "--batch-size", "1", "--out", str(out)]
    assert main([*args, "--keep-flagged"] if keep_flagged else args) == 0
    capsys.readouterr()
    report = json.loads((out / "training.json").read_text())
    poisoned = f"face{POISONED:03d}.png"
    check = report["annotation_check"]
    assert check["checked"] == 3
    assert [Path(f["path"]).name for f in check["flagged"]] == [poisoned]
    if keep_flagged:
        assert check["excluded"] == 0
        assert poisoned in trained
    else:
        assert check["excluded"] == 1
        assert sorted(trained) == ["face000.png", "face002.png"]
