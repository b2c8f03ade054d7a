"""The quality gate: measurements of a face and the reason codes it fails on.

Enrollment refuses a face that fails any check (a poor template hurts every later
decision); verification only reports the reasons. Limits are named constants below, set
from their distributions on every 8th image of the LFW development subset (305 faces;
reproduce with ``facegate bench quality ../shared/data/lfw_deepfunneled_subset --every 8``)
and on blurred, darkened and rotated copies of skimage's astronaut (README, "Recognition").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facegate.vision.image import RGBImage
from facegate.vision.landmarks import eye_centres_and_nose
from facegate.vision.record import Face, Quality, QualityReason

#: Smallest detector box width accepted, in pixels of the input image.
MIN_FACE_WIDTH = 60.0
#: Standard deviation of the Laplacian over that of the grayscale, on the aligned chip's
#: centre: contrast-invariant, so a dark but sharp face is not called blurred. 1% of LFW
#: faces fall below 0.096 (``facegate bench quality``); tests/vision/test_quality.py shows
#: a Gaussian blur of 2.5 px on the astronaut's 88 px face failing it.
MIN_SHARPNESS = 0.09
#: Mean grayscale of the chip's centre (0–255) outside these limits is badly exposed.
MIN_BRIGHTNESS = 40.0
MAX_BRIGHTNESS = 215.0
#: Horizontal nose offset from the eyes' midpoint, in inter-eye distances; ~0 when frontal.
MAX_YAW = 0.45
#: Angle of the line through the eye centres, in degrees.
MAX_ROLL_DEGREES = 25.0
#: The chip's central window that is measured, as fractions of its side (38–112 of dlib's
#: 150 px chip): face, not background, whatever the engine's chip size.
_CENTRE = (38 / 150, 112 / 150)


@dataclass(frozen=True, slots=True)
class QualityLimits:
    """The limits a face must meet; each field's meaning is its module constant's."""

    min_face_width: float = MIN_FACE_WIDTH
    min_sharpness: float = MIN_SHARPNESS
    min_brightness: float = MIN_BRIGHTNESS
    max_brightness: float = MAX_BRIGHTNESS
    max_yaw: float = MAX_YAW
    max_roll_degrees: float = MAX_ROLL_DEGREES


#: The SFace engine's limits, set the same way from the same 305 LFW faces, measured with
#: YuNet boxes and SFace's 112 px chip (``facegate --engine sface bench quality
#: ../shared/data/lfw_deepfunneled_subset --every 8``): YuNet's boxes are 0.89× HOG's
#: (median width 93 vs 105 px), so the width limit is 60 × 0.89; sharpness on the tighter
#: chip has its 1st percentile at 0.148 (dlib's chip: 0.096), so 0.14. Pose comes from the
#: same dlib landmarks in both engines (99th percentile of the yaw proxy 0.31 vs 0.33), so
#: the yaw and roll limits are unchanged.
SFACE_QUALITY_LIMITS = QualityLimits(min_face_width=53.0, min_sharpness=0.14)


class QualityAssessor:
    """Adds ``face.quality``. Needs the landmark and align stages before it."""

    name = "quality"

    def __init__(self, limits: QualityLimits | None = None) -> None:
        self.limits = limits or QualityLimits()

    def process(self, image: RGBImage, face: Face) -> None:
        if face.chip is None or face.landmarks is None:
            raise ValueError("quality needs landmarks and an aligned chip: run those stages first")
        side = face.chip.shape[0]
        window = slice(round(_CENTRE[0] * side), round(_CENTRE[1] * side))
        centre = _gray(face.chip)[window, window]
        sharpness = float(_laplacian(centre).std() / max(float(centre.std()), 1e-6))
        brightness = float(centre.mean())
        yaw, roll = head_pose(face.landmarks)
        limits = self.limits
        reasons: list[QualityReason] = []
        if face.box.width < limits.min_face_width:
            reasons.append(QualityReason.FACE_TOO_SMALL)
        if sharpness < limits.min_sharpness:
            reasons.append(QualityReason.BLURRED)
        if brightness < limits.min_brightness:
            reasons.append(QualityReason.UNDEREXPOSED)
        if brightness > limits.max_brightness:
            reasons.append(QualityReason.OVEREXPOSED)
        if abs(yaw) > limits.max_yaw:
            reasons.append(QualityReason.STRONG_YAW)
        if abs(roll) > limits.max_roll_degrees:
            reasons.append(QualityReason.STRONG_ROLL)
        margins = (
            face.box.width / limits.min_face_width,
            sharpness / limits.min_sharpness,
            brightness / limits.min_brightness,
            (255.0 - brightness) / (255.0 - limits.max_brightness),
            limits.max_yaw / max(abs(yaw), 1e-6),
            limits.max_roll_degrees / max(abs(roll), 1e-6),
        )
        score = 0.0 if reasons else min(1.0, (min(margins) - 1.0))
        face.quality = Quality(
            face_width=face.box.width,
            sharpness=sharpness,
            brightness=brightness,
            yaw=yaw,
            roll_degrees=roll,
            score=max(0.0, score),
            reasons=tuple(reasons),
        )


def head_pose(landmarks: NDArray[np.float32]) -> tuple[float, float]:
    """(yaw proxy, roll in degrees) from 5 landmarks.

    Yaw proxy: the nose base's offset from the eyes' midpoint along the eye line, in
    inter-eye distances (0 when frontal; sign gives the direction). Roll: the eye line's angle.
    """
    first, second, nose = eye_centres_and_nose(landmarks)
    axis = second - first
    distance = float(np.hypot(axis[0], axis[1]))
    if distance < 1e-6:
        return math.inf, 0.0
    unit = axis / distance
    offset = float(np.dot(nose - (first + second) / 2.0, unit)) / distance
    roll = math.degrees(math.atan2(float(axis[1]), float(axis[0])))
    # The eye order in dlib's output does not depend on pose, so fold the angle to [-90, 90].
    if roll > 90.0:
        roll -= 180.0
    elif roll < -90.0:
        roll += 180.0
    return offset, roll


def _gray(chip: NDArray[np.uint8]) -> NDArray[np.float64]:
    rgb = chip.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _laplacian(gray: NDArray[np.float64]) -> NDArray[np.float64]:
    centre = gray[1:-1, 1:-1]
    return gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4.0 * centre
