"""Is a face's motion between two frames that of a flat object (a print or a screen)?

A photo or screen moved in front of the camera is a plane: every point of it moves by one
homography (a 3×3 projective transform), however it is tilted. A head turning is not: the
nose moves across the cheeks. :func:`planar_motion` matches ORB keypoints between the face
regions of two frames, fits a homography with RANSAC, and calls the motion planar when
enough matches agree with it to within a small fraction of the face width.

Too few matches means "cannot tell", which is not planar: a check that decides access must
not refuse a person because their face has little texture. The active check therefore
relies on planarity only as a second line: a tilted photo also barely changes the nose's
position between the eyes (an affine map keeps ratios along a line), so it tends to fail the
turn challenges first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from facegate.vision.image import RGBImage
from facegate.vision.record import Box

#: Fewer cross-checked matches than this cannot show a plane (4 always fit a homography
#: exactly; 12 leave 8 to agree or not). Moved prints give many more: the 10th percentile is
#: 20 matches for tilted LFW prints and 32 for NUAA's real prints (numbers below).
MIN_MATCHES = 12
#: Planar when at least this fraction of the matches fits one homography. Measured on a
#: frontal frame against each moved frame of the same print: 92% of 85 pairs from NUAA's
#: prints really moved left-right, and 95% of 125 pairs of LFW photos tilted to fake a turn
#: (print_oblique of ``facegate bench active``), reach 0.75; 0.6 would call 99% of the real
#: prints planar, but also a face whose two halves move 16 px apart (0.63, the parallax
#: test in tests/liveness/test_planarity.py). No recording of real head turns was at hand
#: to measure how often a live head looks planar, so the stricter value was kept.
MIN_INLIER_FRACTION = 0.75
#: A match fits when it lands within this fraction of the moved face's box width of where the
#: homography puts it: ~2 px on a 100 px face, above ORB's localisation error after
#: resampling, below the ~8% of a face width a nose moves across the cheeks in a 25° turn.
RESIDUAL_TOLERANCE = 0.02
#: Each face box is enlarged by this fraction of its width on every side; the ear-to-ear
#: region the detector's tight box leaves out has the texture that separates a head from a
#: print, while more margin would add static background, which fits the identity.
BOX_MARGIN = 0.15
#: The face region is resampled to this width (pixels) before ORB, so that small and large
#: faces give comparable numbers of keypoints.
WORK_WIDTH = 256
#: ORB keypoints per face region.
N_KEYPOINTS = 400
#: Lowe's ratio test on descriptor distances: drops matches whose second-best is as good.
MAX_MATCH_RATIO = 0.85
#: RANSAC draws; fixed seed so that the same frames always get the same verdict (audit).
RANSAC_TRIALS = 500
RANSAC_SEED = 0
#: Point pairs that determine a homography.
_HOMOGRAPHY_POINTS = 4


class PlanarVerdict(StrEnum):
    """Outcome of the planarity test. Values are stable codes."""

    PLANAR = "planar"
    NOT_PLANAR = "not_planar"
    CANNOT_TELL = "cannot_tell"


@dataclass(frozen=True, slots=True)
class PlanarityLimits:
    """Limits of the test; each field's meaning is its module constant's."""

    min_matches: int = MIN_MATCHES
    min_inlier_fraction: float = MIN_INLIER_FRACTION
    residual_tolerance: float = RESIDUAL_TOLERANCE
    box_margin: float = BOX_MARGIN

    def __post_init__(self) -> None:
        if self.min_matches < _HOMOGRAPHY_POINTS:
            raise ValueError(f"min_matches must be at least 4, got {self.min_matches}")
        if not 0 <= self.min_inlier_fraction <= 1:
            raise ValueError(
                f"min_inlier_fraction must be in [0, 1], got {self.min_inlier_fraction}"
            )
        if not self.residual_tolerance > 0:
            raise ValueError(f"residual_tolerance must be positive, got {self.residual_tolerance}")
        if not self.box_margin >= 0:
            raise ValueError(f"box_margin must be >= 0, got {self.box_margin}")


@dataclass(frozen=True, slots=True)
class PlanarityResult:
    """The verdict, with the cross-checked matches and how many fit the homography."""

    verdict: PlanarVerdict
    matches: int
    inliers: int

    @property
    def planar(self) -> bool:
        return self.verdict is PlanarVerdict.PLANAR

    @property
    def inlier_fraction(self) -> float:
        return self.inliers / self.matches if self.matches else 0.0


def planar_motion(
    image_a: RGBImage,
    box_a: Box,
    image_b: RGBImage,
    box_b: Box,
    limits: PlanarityLimits = PlanarityLimits(),
) -> PlanarityResult:
    """Does one homography explain the face's motion from ``image_a`` to ``image_b``?

    Args:
        image_a, image_b: ``(H, W, 3)`` uint8 RGB frames (sizes may differ).
        box_a, box_b: the face's box ``[x1, y1, x2, y2]`` in pixels of each frame.
        limits: the thresholds (see :class:`PlanarityLimits`).

    Returns:
        PLANAR when at least ``min_matches`` matches fit one homography and they are at
        least ``min_inlier_fraction`` of all matches; CANNOT_TELL when there are fewer
        matches than ``min_matches``; NOT_PLANAR otherwise.
    """
    # scikit-image's feature module takes seconds to import: only when a check runs
    from skimage.feature import match_descriptors
    from skimage.measure import ransac
    from skimage.transform import ProjectiveTransform

    points_a, descriptors_a = _keypoints(image_a, box_a, limits.box_margin)
    points_b, descriptors_b = _keypoints(image_b, box_b, limits.box_margin)
    if len(points_a) < limits.min_matches or len(points_b) < limits.min_matches:
        return PlanarityResult(PlanarVerdict.CANNOT_TELL, 0, 0)
    pairs = match_descriptors(  # type: ignore[no-untyped-call]
        descriptors_a, descriptors_b, cross_check=True, max_ratio=MAX_MATCH_RATIO
    )
    matches = len(pairs)
    if matches < max(limits.min_matches, _HOMOGRAPHY_POINTS):
        return PlanarityResult(PlanarVerdict.CANNOT_TELL, matches, 0)
    src = points_a[pairs[:, 0]]
    dst = points_b[pairs[:, 1]]
    tolerance = limits.residual_tolerance * max(box_b.width, 1.0)
    model, inlier_mask = ransac(  # type: ignore[no-untyped-call]
        (src, dst),
        ProjectiveTransform,
        min_samples=_HOMOGRAPHY_POINTS,
        residual_threshold=tolerance,
        max_trials=RANSAC_TRIALS,
        rng=RANSAC_SEED,
    )
    inliers = 0 if model is None or inlier_mask is None else int(np.count_nonzero(inlier_mask))
    planar = inliers >= limits.min_matches and inliers >= limits.min_inlier_fraction * matches
    verdict = PlanarVerdict.PLANAR if planar else PlanarVerdict.NOT_PLANAR
    return PlanarityResult(verdict, matches, inliers)


def _keypoints(
    image: RGBImage, box: Box, margin: float
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """ORB keypoints ``(n, 2)`` as ``(x, y)`` pixels of ``image``, and their descriptors."""
    from skimage.color import rgb2gray
    from skimage.feature import ORB
    from skimage.transform import resize

    height, width = image.shape[:2]
    pad = margin * box.width
    x1, y1 = max(int(box.x1 - pad), 0), max(int(box.y1 - pad), 0)
    x2, y2 = min(int(np.ceil(box.x2 + pad)), width), min(int(np.ceil(box.y2 + pad)), height)
    empty = (np.zeros((0, 2)), np.zeros((0, 256), dtype=bool))
    if x2 - x1 < 8 or y2 - y1 < 8:
        return empty
    scale = WORK_WIDTH / (x2 - x1)
    crop = rgb2gray(image[y1:y2, x1:x2])
    size = (max(round((y2 - y1) * scale), 8), WORK_WIDTH)
    work = resize(crop, size, anti_aliasing=scale < 1)  # type: ignore[no-untyped-call]
    orb = ORB(n_keypoints=N_KEYPOINTS)  # type: ignore[no-untyped-call]
    try:
        orb.detect_and_extract(work)  # type: ignore[no-untyped-call]
    except (RuntimeError, ValueError):  # no corner at all, e.g. a flat region
        return empty
    keypoints = np.asarray(orb.keypoints, dtype=np.float64)
    if keypoints.size == 0:
        return empty
    points = np.column_stack([keypoints[:, 1] / scale + x1, keypoints[:, 0] / scale + y1])
    return points, np.asarray(orb.descriptors, dtype=bool)
