"""The one typed record that every vision stage adds to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

EMBEDDING_DIM = 128
LANDMARK_COUNT = 5

Embedding = NDArray[np.float32]
"""A face embedding: shape ``(128,)``, float32."""


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box ``[x1, y1, x2, y2]`` in pixels; ``x2``/``y2`` exclusive."""

    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    @classmethod
    def from_dlib(cls, rect: Any) -> Box:
        """From dlib's ``rectangle``, whose right and bottom edges are inclusive."""
        return cls(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when they do not overlap)."""
        inter = Box(
            max(self.x1, other.x1), max(self.y1, other.y1),
            min(self.x2, other.x2), min(self.y2, other.y2),
        )  # fmt: skip
        union = self.area + other.area - inter.area
        return inter.area / union if union > 0 else 0.0

    def scaled(self, factor: float) -> Box:
        return Box(self.x1 * factor, self.y1 * factor, self.x2 * factor, self.y2 * factor)

    def as_list(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]


class QualityReason(StrEnum):
    """Why a face failed the quality gate. Values are stable codes for clients."""

    FACE_TOO_SMALL = "face_too_small"
    BLURRED = "blurred"
    UNDEREXPOSED = "underexposed"
    OVEREXPOSED = "overexposed"
    STRONG_YAW = "strong_yaw"
    STRONG_ROLL = "strong_roll"


@dataclass(frozen=True, slots=True)
class Quality:
    """Measurements of one face and the reasons (if any) it fails the gate.

    ``score`` in [0, 1] is the worst of the per-check margins: 1 means every measurement is
    at least twice as good as its limit, 0 means at least one check failed.
    """

    face_width: float
    sharpness: float
    brightness: float
    yaw: float
    roll_degrees: float
    score: float
    reasons: tuple[QualityReason, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.reasons


@dataclass(slots=True)
class Face:
    """One face, filled in stage by stage: detect → landmarks → align → quality → embed.

    Attributes:
        box: detector box ``[x1, y1, x2, y2]`` in pixels of the input image.
        detection_score: the detector's confidence (higher is more face-like; HOG: SVM margin).
        landmarks: ``(5, 2)`` float32 ``(x, y)`` pixels, dlib's 5-point order
            (eye corners ×4, nose base), or None before the landmark stage.
        keypoints: ``(5, 2)`` float32, the detector's own points where it gives them
            (YuNet: eyes, nose tip, mouth corners), for SFace's alignment.
        chip: aligned ``(150, 150, 3)`` uint8 RGB crop, or None before alignment.
        quality: quality measurements, or None before the quality stage.
        embedding: ``(128,)`` float32 embedding, or None before the embed stage.
    """

    box: Box
    detection_score: float
    landmarks: NDArray[np.float32] | None = None
    keypoints: NDArray[np.float32] | None = None
    chip: NDArray[np.uint8] | None = None
    quality: Quality | None = None
    embedding: Embedding | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
