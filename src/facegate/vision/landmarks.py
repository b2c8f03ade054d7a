"""Five facial landmarks with dlib's 5-point shape predictor.

The 68-point model is deliberately not used: its iBUG 300-W training data forbids
commercial use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlib
import numpy as np

from facegate.models.registry import ModelRegistry
from facegate.vision.detect import HogDetector, to_dlib_rectangle
from facegate.vision.image import RGBImage
from facegate.vision.record import LANDMARK_COUNT, Box, Face

SHAPE_PREDICTOR_5 = "dlib_shape_predictor_5"
#: Where HOG's box lies relative to YuNet's, in YuNet box widths (median over 404 faces of
#: every 6th LFW development image, both detectors): centre 0.035 right and 0.084 down,
#: square side 1.115. dlib's 5-point model was trained on HOG's boxes.
YUNET_TO_HOG_SHIFT = (0.035, 0.084)
YUNET_TO_HOG_SIDE = 1.115
#: HOG looks for the face in this many YuNet box widths around it (cheap: a small crop).
_POSE_SEARCH = 2.0


def hog_style_box(box: Box) -> Box:
    """A YuNet box moved to where HOG would put it, for dlib's landmark model."""
    cx, cy = box.center
    cx += YUNET_TO_HOG_SHIFT[0] * box.width
    cy += YUNET_TO_HOG_SHIFT[1] * box.width
    half = YUNET_TO_HOG_SIDE * box.width / 2.0
    return Box(cx - half, cy - half, cx + half, cy + half)


def hog_box_near(image: RGBImage, box: Box, hog: HogDetector) -> Box:
    """HOG's own box for the face YuNet found (searched in a crop around it), so that
    dlib's landmarks, and the pose limits set on them, are as with the dlib engine; where
    HOG misses the face (strong turns), ``hog_style_box``."""
    expected = hog_style_box(box)
    height, width = image.shape[:2]
    margin = _POSE_SEARCH * box.width / 2.0
    cx, cy = expected.center
    x1, y1 = max(0, int(cx - margin)), max(0, int(cy - margin))
    x2, y2 = min(width, int(cx + margin)), min(height, int(cy + margin))
    found = hog.detect(np.ascontiguousarray(image[y1:y2, x1:x2])) if x2 > x1 and y2 > y1 else []
    near = [f.box for f in found if _overlap(f.box, expected, x1, y1) >= 0.4]
    if not near:
        return expected
    best = max(near, key=lambda b: _overlap(b, expected, x1, y1))
    return Box(best.x1 + x1, best.y1 + y1, best.x2 + x1, best.y2 + y1)


def _overlap(crop_box: Box, box: Box, dx: int, dy: int) -> float:
    """Intersection over union of a box found in a crop at (dx, dy) with ``box``."""
    return Box(crop_box.x1 + dx, crop_box.y1 + dy, crop_box.x2 + dx, crop_box.y2 + dy).iou(box)


class FivePointLandmarker:
    """Adds ``face.landmarks`` as a ``(5, 2)`` float32 array of ``(x, y)`` pixels.

    ``from_yunet``: the boxes are YuNet's; the model, trained on HOG's boxes, is given
    HOG's box for the same face (``hog_box_near``).
    """

    name = "landmarks"

    def __init__(
        self, registry: ModelRegistry, model_path: Path | None = None, *, from_yunet: bool = False
    ) -> None:
        path = registry.verified_path(SHAPE_PREDICTOR_5, model_path)
        self._predictor: Any = dlib.shape_predictor(str(path))
        self._hog = HogDetector() if from_yunet else None

    def process(self, image: RGBImage, face: Face) -> None:
        box = face.box if self._hog is None else hog_box_near(image, face.box, self._hog)
        shape = self._predictor(image, to_dlib_rectangle(box))
        points = [(shape.part(i).x, shape.part(i).y) for i in range(LANDMARK_COUNT)]
        face.landmarks = np.asarray(points, dtype=np.float32)


def to_dlib_shape(face: Face) -> Any:
    """The face's box and landmarks as dlib's ``full_object_detection``."""
    if face.landmarks is None:
        raise ValueError("face has no landmarks: run the landmark stage first")
    points = dlib.points()
    for x, y in face.landmarks:
        points.append(dlib.point(round(float(x)), round(float(y))))
    return dlib.full_object_detection(to_dlib_rectangle(face.box), points)


def eye_centres_and_nose(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split dlib's 5 points into (first eye centre, second eye centre, nose base), each (2,).

    dlib's order: points 0–1 are the corners of the eye on the image's right (the subject's
    left eye), 2–3 those of the other eye, 4 the base of the nose.
    """
    first = landmarks[0:2].mean(axis=0)
    second = landmarks[2:4].mean(axis=0)
    return first, second, landmarks[4]
