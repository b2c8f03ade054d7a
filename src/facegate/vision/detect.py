"""Face detection: dlib's HOG detector first, its MMOD CNN detector when HOG finds nothing.

HOG (compiled into dlib, no model file) is fast (6 ms median on 250 px LFW images,
``facegate bench verification``) but misses some tilted, dark or occluded faces; the CNN
finds many of those at a far higher cost, so the cascade pays it only on images HOG fails on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dlib
import numpy as np
from PIL import Image

from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage
from facegate.vision.record import Box, Face
from facegate.vision.stages import Detector

#: Detection runs on a copy no larger than this (longest side); landmarks and embeddings
#: still use full resolution. HOG cost grows with pixels, faces at a gate are large.
DETECTION_MAX_SIDE = 1024
#: First pass at native scale; only if it finds nothing, a second pass upsampled once
#: (finds faces down to ~40 px instead of ~80 px, at about 4× the cost).
DEFAULT_UPSAMPLE_SCHEDULE: tuple[int, ...] = (0, 1)
#: SVM margin above which a window counts as a face; dlib's own default.
DEFAULT_HOG_THRESHOLD = 0.0
#: The CNN runs on a copy no larger than this: its cost grows with the pixel count.
MMOD_MAX_SIDE = 320
MMOD_DETECTOR = "dlib_mmod_cnn"


def to_dlib_rectangle(box: Box) -> Any:
    """``[x1, y1, x2, y2)`` → dlib's inclusive ``rectangle(left, top, right, bottom)``."""
    return dlib.rectangle(
        round(box.x1),
        round(box.y1),
        max(round(box.x2) - 1, round(box.x1)),
        max(round(box.y2) - 1, round(box.y1)),
    )


class HogDetector:
    """dlib's frontal HOG detector with an upsampling fallback.

    Args:
        upsample_schedule: upsampling counts tried in order until one finds a face;
            must be non-empty, each 0–3.
        threshold: SVM margin a detection must exceed (higher is stricter).
        max_side: detection runs on the image shrunk to this longest side.
    """

    name = "hog"

    def __init__(
        self,
        upsample_schedule: Sequence[int] = DEFAULT_UPSAMPLE_SCHEDULE,
        threshold: float = DEFAULT_HOG_THRESHOLD,
        max_side: int = DETECTION_MAX_SIDE,
    ) -> None:
        if not upsample_schedule or any(not 0 <= u <= 3 for u in upsample_schedule):
            raise ValueError(
                f"upsample_schedule must hold 1+ values in 0..3, got {upsample_schedule!r}"
            )
        if max_side < 64:
            raise ValueError(f"max_side must be at least 64, got {max_side}")
        self.upsample_schedule = tuple(upsample_schedule)
        self.threshold = threshold
        self.max_side = max_side
        self._detector: Any = None

    def detect(self, image: RGBImage) -> list[Face]:
        """Faces in ``image`` (``(H, W, 3)`` uint8 RGB), highest score first."""
        if self._detector is None:
            self._detector = dlib.get_frontal_face_detector()
        small, factor = _shrink(image, self.max_side)
        for upsample in self.upsample_schedule:
            rects, scores, _ = self._detector.run(small, upsample, self.threshold)
            if len(rects):
                break
        faces = [
            Face(
                box=Box.from_dlib(r).scaled(1.0 / factor),
                detection_score=float(s),
            )
            for r, s in zip(rects, scores, strict=True)
        ]
        return sorted(faces, key=lambda f: f.detection_score, reverse=True)


def _shrink(image: RGBImage, max_side: int) -> tuple[RGBImage, float]:
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image, 1.0
    factor = max_side / longest
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(resized, dtype=np.uint8), factor


class MmodDetector:
    """dlib's MMOD CNN face detector (``mmod_human_face_detector.dat``), on a shrunk copy.

    Slow on a CPU (seconds per megapixel), so it serves as the cascade's last resort.
    """

    name = "mmod"

    def __init__(
        self, registry: ModelRegistry, max_side: int = MMOD_MAX_SIDE, model_path: Path | None = None
    ) -> None:
        if max_side < 64:
            raise ValueError(f"max_side must be at least 64, got {max_side}")
        path = registry.verified_path(MMOD_DETECTOR, model_path)
        self._detector: Any = dlib.cnn_face_detection_model_v1(str(path))
        self.max_side = max_side

    def detect(self, image: RGBImage) -> list[Face]:
        small, factor = _shrink(image, self.max_side)
        found = self._detector(small, 0)
        faces = [
            Face(
                box=Box.from_dlib(d.rect).scaled(1.0 / factor),
                detection_score=float(d.confidence),
            )
            for d in found
        ]
        return sorted(faces, key=lambda f: f.detection_score, reverse=True)


class CascadeDetector:
    """Runs detectors in order and returns the first non-empty result.

    ``last_used`` names the detector that produced the latest result (for benchmarks).
    """

    name = "detect"

    def __init__(self, detectors: Sequence[Detector]) -> None:
        if not detectors:
            raise ValueError("detectors must not be empty")
        self.detectors = tuple(detectors)
        self.last_used: str | None = None

    def detect(self, image: RGBImage) -> list[Face]:
        for detector in self.detectors:
            faces = detector.detect(image)
            if faces:
                self.last_used = detector.name
                return faces
        self.last_used = None
        return []
