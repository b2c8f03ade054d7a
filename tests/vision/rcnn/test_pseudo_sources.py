"""Pseudo-labels from the default detector and the ``FORMAT:PATH[:IMAGES]`` sources (no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facegate.errors import DatasetError
from facegate.fixtures import astronaut, encode_png, no_face
from facegate.vision.rcnn.annotations import FACE_LABEL, AnnotationFormat
from facegate.vision.rcnn.pseudo import PSEUDO_SOURCE_LABEL, find_images, pseudo_label
from facegate.vision.rcnn.sources import Source, gather
from tests.vision.rcnn.faces import face_crop, write_voc


def portrait() -> np.ndarray:
    """The astronaut's face alone on a plain grey wall: one clear face, nothing else."""
    canvas = np.full((320, 320, 3), 128, dtype=np.uint8)
    face = face_crop(120)
    canvas[100 : 100 + face.shape[0], 100:220] = face
    return canvas


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    folder = tmp_path / "camera"
    (folder / "day").mkdir(parents=True)
    (folder / "day" / "portrait.png").write_bytes(encode_png(portrait()))
    (folder / "astronaut.png").write_bytes(encode_png(astronaut()))
    (folder / "coffee.png").write_bytes(encode_png(no_face()))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    (folder / "notes.txt").write_text("not a picture")
    return folder


def test_confident_faces_become_labels_and_the_rest_is_counted(pictures: Path) -> None:
    result = pseudo_label(find_images(pictures))
    assert [image.path.name for image in result.images] == ["portrait.png"]
    (box,) = result.images[0].boxes
    assert (box.label, box.source_label) == (FACE_LABEL, PSEUDO_SOURCE_LABEL)
    assert 100 <= box.x1 <= 130
    assert 100 <= box.y1 <= 130
    assert 90 <= box.width <= 130
    assert (result.images[0].width, result.images[0].height) == (320, 320)
    assert result.no_face == 1
    # The full astronaut photo: besides her face (margin > 1), HOG sees weak windows on her
    # suit; such a picture is dropped, not trained on with those windows as background.
    assert result.doubtful == 1
    assert len(result.unreadable) == 1
    assert "broken.jpg" in result.unreadable[0]


def test_a_doubtful_detection_drops_its_picture(pictures: Path) -> None:
    # A cut above the portrait's HOG margin makes its face doubtful too.
    result = pseudo_label(find_images(pictures), min_score=10.0)
    assert result.images == []
    assert result.doubtful == 2


def test_limit_picks_the_same_subset_whatever_the_listing(pictures: Path, tmp_path: Path) -> None:
    for i in range(6):
        Image.new("RGB", (64, 64), (i * 30, 0, 0)).save(pictures / f"plain{i}.png")
    subset = find_images(pictures, limit=3)
    assert len(subset) == 3
    assert subset == find_images(pictures, limit=3)
    assert set(subset) <= set(find_images(pictures))
    assert all(p.suffix in {".png", ".jpg"} for p in find_images(pictures))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("voc", "expected FORMAT:ANNOTATIONS"),
        ("coco:x.json", "unknown format 'coco'"),
        ("wider:gt.txt", "needs the images folder"),
        ("csv:", "expected FORMAT:ANNOTATIONS"),
    ],
)
def test_bad_source_text_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        Source.parse(text)


def test_sources_parse_and_gather(tmp_path: Path, pictures: Path) -> None:
    voc = write_voc(tmp_path / "site", 3)
    source = Source.parse(f"voc:{voc / 'annotations'}")
    assert source == Source(AnnotationFormat.VOC, voc / "annotations", voc / "images")
    assert Source.parse("csv:boxes.csv").images is None
    training = gather([source], [pictures])
    assert len(training.images) == 4  # three labelled, the portrait pseudo-labelled
    assert training.counts == {str(voc / "annotations"): 3, "pseudo-labelled": 1}
    with pytest.raises(DatasetError, match="no such annotation"):
        gather([Source.parse(f"csv:{tmp_path / 'missing.csv'}")])
    with pytest.raises(DatasetError, match="not a folder of images"):
        gather([], [tmp_path / "nowhere"])
