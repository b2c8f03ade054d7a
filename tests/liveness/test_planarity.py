"""The planarity test on the astronaut: a tilted photo is a plane, parallax is not."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from skimage.transform import warp

from facegate.liveness.planarity import (
    MIN_MATCHES,
    PlanarityLimits,
    PlanarityResult,
    PlanarVerdict,
    planar_motion,
)
from facegate.liveness.sequences import CANVAS_SHAPE, _plane
from facegate.vision.pipeline import FacePipeline, Selection, select_subject
from facegate.vision.record import Box


def _print_of(face: NDArray[np.uint8], tilt: float, axis: float) -> NDArray[np.uint8]:
    """The photo as a print ``tilt`` degrees about ``axis`` in front of the canvas camera."""
    plane = _plane(face.shape, 0.9, tilt, axis)
    drawn = warp(face, plane.inverse, output_shape=CANVAS_SHAPE, order=1)  # type: ignore[no-untyped-call]
    return np.asarray(np.rint(drawn * 255), dtype=np.uint8)


def _box(pipeline: FacePipeline, image: NDArray[np.uint8]) -> Box:
    faces, _ = pipeline.detect(image)
    return select_subject(faces, image.shape[1], image.shape[0], Selection.SINGLE).box


@pytest.mark.parametrize(("tilt", "axis"), [(30.0, 90.0), (-30.0, 90.0), (45.0, 45.0)])
def test_tilted_print_is_planar(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8], tilt: float, axis: float
) -> None:
    frontal = _print_of(face_rgb, 0.0, 90.0)
    tilted = _print_of(face_rgb, tilt, axis)
    result = planar_motion(frontal, _box(pipeline, frontal), tilted, _box(pipeline, tilted))
    assert result.verdict is PlanarVerdict.PLANAR
    assert result.planar
    assert result.matches >= 100
    assert result.inlier_fraction >= 0.8


def test_same_frame_is_planar(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    box = _box(pipeline, face_rgb)
    result = planar_motion(face_rgb, box, face_rgb, box)
    assert result.verdict is PlanarVerdict.PLANAR
    assert result.inliers == result.matches


def test_two_motions_are_not_planar(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    """Parallax: the face's two halves move 16 px apart, as a nose moves across the cheeks."""
    box = _box(pipeline, face_rgb)
    split = round(box.center[0])
    moved = face_rgb.copy()
    moved[:, :split] = np.roll(face_rgb, 8, axis=1)[:, :split]
    moved[:, split:] = np.roll(face_rgb, -8, axis=1)[:, split:]
    result = planar_motion(face_rgb, box, moved, box)
    assert result.verdict is PlanarVerdict.NOT_PLANAR
    assert result.matches >= MIN_MATCHES
    assert 0.3 <= result.inlier_fraction < PlanarityLimits().min_inlier_fraction


def test_mirror_image_is_not_planar(pipeline: FacePipeline, face_rgb: NDArray[np.uint8]) -> None:
    mirrored = np.ascontiguousarray(face_rgb[:, ::-1])
    result = planar_motion(face_rgb, _box(pipeline, face_rgb), mirrored, _box(pipeline, mirrored))
    assert not result.planar


def test_no_texture_cannot_tell(face_rgb: NDArray[np.uint8]) -> None:
    blank = np.full_like(face_rgb, 128)
    box = Box(179.0, 83.0, 267.0, 171.0)
    result = planar_motion(blank, box, blank, box)
    assert result == PlanarityResult(PlanarVerdict.CANNOT_TELL, 0, 0)
    assert not result.planar
    assert result.inlier_fraction == 0.0


def test_box_outside_the_image_cannot_tell(face_rgb: NDArray[np.uint8]) -> None:
    outside = Box(600.0, 600.0, 700.0, 700.0)
    result = planar_motion(face_rgb, outside, face_rgb, outside)
    assert result.verdict is PlanarVerdict.CANNOT_TELL


def test_stricter_limits_change_the_verdict(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8]
) -> None:
    box = _box(pipeline, face_rgb)
    few = planar_motion(face_rgb, box, face_rgb, box, PlanarityLimits(min_matches=10_000))
    assert few.verdict is PlanarVerdict.CANNOT_TELL


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_matches", 3),
        ("min_inlier_fraction", 1.5),
        ("residual_tolerance", 0.0),
        ("box_margin", -0.1),
    ],
)
def test_limits_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        PlanarityLimits(**{field: value})  # type: ignore[arg-type]


def test_a_blank_frame_cannot_tell_at_the_smallest_min_matches(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8]
) -> None:
    box = _box(pipeline, face_rgb)
    limits = PlanarityLimits(min_matches=4)
    result = planar_motion(face_rgb, box, np.full_like(face_rgb, 128), box, limits)
    assert result.verdict is PlanarVerdict.CANNOT_TELL
