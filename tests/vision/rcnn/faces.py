"""Small detection fixtures made from the astronaut photo that scikit-image ships.

Real pixels of a real face, pasted at known places on textured backgrounds, so a test knows
the true box without any dataset on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from facegate.fixtures import astronaut, no_face

#: The astronaut's face in ``skimage.astronaut()`` (512 x 512), x1, y1, x2, y2: around
#: dlib's HOG window, as in tests/cli/test_detector_eval.py.
ASTRONAUT_FACE = (172, 70, 268, 175)
CANVAS = 192


def face_crop(side: int) -> np.ndarray:
    """The astronaut's face scaled so its width is ``side`` pixels."""
    x1, y1, x2, y2 = ASTRONAUT_FACE
    crop = Image.fromarray(astronaut()[y1:y2, x1:x2])
    height = round(side * (y2 - y1) / (x2 - x1))
    return np.asarray(crop.resize((side, height), Image.Resampling.BILINEAR))


def composite(seed: int, side: int = 56) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A ``CANVAS``-pixel picture: the face at a seeded place on a background crop of ``coffee``."""
    rng = np.random.default_rng(seed)
    background = no_face()
    top, left = (
        rng.integers(0, background.shape[0] - CANVAS),
        rng.integers(0, background.shape[1] - CANVAS),
    )
    canvas = np.array(background[top : top + CANVAS, left : left + CANVAS])
    face = face_crop(side)
    y = int(rng.integers(0, CANVAS - face.shape[0]))
    x = int(rng.integers(0, CANVAS - face.shape[1]))
    canvas[y : y + face.shape[0], x : x + face.shape[1]] = face
    return canvas, (float(x), float(y), float(x + face.shape[1]), float(y + face.shape[0]))


def write_voc(folder: Path, count: int, first_seed: int = 0) -> Path:
    """``count`` composites as a Pascal-VOC folder: ``folder/annotations`` and ``folder/images``."""
    (folder / "annotations").mkdir(parents=True)
    (folder / "images").mkdir()
    for seed in range(first_seed, first_seed + count):
        pixels, (x1, y1, x2, y2) = composite(seed)
        name = f"face{seed:03d}.png"
        Image.fromarray(pixels).save(folder / "images" / name)
        (folder / "annotations" / f"face{seed:03d}.xml").write_text(
            f"<annotation><filename>{name}</filename><size><width>{CANVAS}</width>"
            f"<height>{CANVAS}</height><depth>3</depth></size><object><name>face</name>"
            f"<bndbox><xmin>{x1:.0f}</xmin><ymin>{y1:.0f}</ymin><xmax>{x2:.0f}</xmax>"
            f"<ymax>{y2:.0f}</ymax></bndbox></object></annotation>",
            encoding="utf-8",
        )
    return folder
