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
from facegate.vision.detect import to_dlib_rectangle
from facegate.vision.image import RGBImage
from facegate.vision.record import LANDMARK_COUNT, Face

SHAPE_PREDICTOR_5 = "dlib_shape_predictor_5"


class FivePointLandmarker:
    """Adds ``face.landmarks`` as a ``(5, 2)`` float32 array of ``(x, y)`` pixels."""

    name = "landmarks"

    def __init__(self, registry: ModelRegistry, model_path: Path | None = None) -> None:
        path = registry.verified_path(SHAPE_PREDICTOR_5, model_path)
        self._predictor: Any = dlib.shape_predictor(str(path))

    def process(self, image: RGBImage, face: Face) -> None:
        shape = self._predictor(image, to_dlib_rectangle(face.box))
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
