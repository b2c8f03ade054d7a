"""The quality gate's reason codes on degraded copies of a real photo."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.quality import MAX_ROLL_DEGREES, QualityAssessor, QualityLimits, head_pose
from facegate.vision.record import QualityReason


def _reasons(pipeline: FacePipeline, image: NDArray[np.uint8]) -> tuple[QualityReason, ...]:
    face = pipeline.subject(np.ascontiguousarray(image), Selection.LARGEST)
    assert face.quality is not None
    return face.quality.reasons


def test_sharp_frontal_photo_passes(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    assert _reasons(pipeline, face_rgb) == ()


def test_blurred(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    blurred = np.asarray(Image.fromarray(face_rgb).filter(ImageFilter.GaussianBlur(2.5)))
    assert _reasons(pipeline, blurred) == (QualityReason.BLURRED,)


def test_dark_but_sharp_is_underexposed_not_blurred(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8]
) -> None:
    dark = (face_rgb.astype(np.float64) * 0.15).astype(np.uint8)
    assert _reasons(pipeline, dark) == (QualityReason.UNDEREXPOSED,)


def test_overexposed(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    bright = np.clip(face_rgb.astype(np.float64) * 0.5 + 150, 0, 255).astype(np.uint8)
    assert QualityReason.OVEREXPOSED in _reasons(pipeline, bright)


def test_face_too_small(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    small = np.asarray(Image.fromarray(face_rgb).resize((256, 256)))  # face ~45 px wide
    assert _reasons(pipeline, small) == (QualityReason.FACE_TOO_SMALL,)


@pytest.mark.parametrize("angle", [35.0, -35.0])
def test_strong_roll(pipeline: FacePipeline, face_rgb: NDArray[np.uint8], angle: float) -> None:
    rotated = np.asarray(Image.fromarray(face_rgb).rotate(angle, center=(223, 127)))
    assert _reasons(pipeline, rotated) == (QualityReason.STRONG_ROLL,)


def test_head_pose_on_exact_landmarks() -> None:
    # dlib order: subject's left eye (image right) corners, right eye corners, nose base.
    frontal = np.array([[70, 50], [60, 50], [30, 50], [40, 50], [50, 70]], dtype=np.float32)
    yaw, roll = head_pose(frontal)
    assert yaw == pytest.approx(0.0, abs=1e-6)
    assert roll == pytest.approx(0.0, abs=1e-6)
    turned = frontal.copy()
    turned[4, 0] = 70.0  # nose 20 px towards one eye, inter-eye distance 30 px
    assert abs(head_pose(turned)[0]) == pytest.approx(20.0 / 30.0, abs=1e-6)
    angle = np.radians(40.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    rolled = (frontal @ rotation.T).astype(np.float32)
    assert abs(head_pose(rolled)[1]) == pytest.approx(40.0, abs=1e-4)
    assert abs(head_pose(rolled)[1]) > MAX_ROLL_DEGREES


def test_custom_limits_change_the_verdict(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8]
) -> None:
    face = pipeline.subject(face_rgb, Selection.SINGLE)
    QualityAssessor(QualityLimits(min_face_width=200.0)).process(face_rgb, face)
    assert face.quality is not None
    assert face.quality.reasons == (QualityReason.FACE_TOO_SMALL,)
    assert face.quality.score == 0.0
