"""Face swaps for the attack benchmark: one person's face blended onto another's head.

What an "AI face-swap" tool does, with the parts at hand: the source face is aligned to
the target head by the similarity transform (rotation, uniform scale, shift) that best maps
the source's 5 landmarks onto the target's, then refined by a piecewise-affine warp that
puts the 5 landmarks exactly on the target's (so the swapped face follows the target head's
pose: its nose moves across the eye line as the target turns), and blended in with Poisson
seamless cloning (:func:`cv2.seamlessClone`) over the face oval. Used by ``facegate bench
attacks`` to build attacks; the gate itself never synthesises anything.

Landmarks are dlib's 5 points (``Face.landmarks``): the image-right eye's outer and inner
corner, the image-left eye's outer and inner corner, the base of the nose.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from facegate.vision.image import RGBImage

#: The face oval, in inter-eye distances (eye centre to eye centre) about a point between
#: the eye line and the nose base: half-width and half-height. An adult face is ~2.3 eye
#: distances from cheek to cheek and ~3 from hairline to chin, eyes a third of the way
#: down; checked by eye on LFW and NUAA frames: the oval covers brows, cheeks, mouth and
#: chin, inside the hairline, which is where face-swap tools blend. Smaller ovals carry
#: too little of the victim (1.05 × 1.35: 6 of 14 swaps onto NUAA frames matched the
#: victim at FMR 1e-4; this oval: 13 of 23).
OVAL_HALF_WIDTH = 1.2
OVAL_HALF_HEIGHT = 1.5
#: The oval's centre lies this fraction of the way from the eyes' midpoint to the nose base.
OVAL_CENTRE_TOWARDS_NOSE = 0.6
#: Points on the oval used as anchors of the piecewise-affine warp (outside the landmarks).
ANCHOR_POINTS = 12
#: Where the anchors sit relative to the oval: just outside it, so the warp is smooth
#: across the blended region.
ANCHOR_SCALE = 1.35
#: Pixels kept clear of the image border: seamless cloning needs a margin round the mask.
BORDER_MARGIN_PX = 2

Landmarks = NDArray[np.float32]


def eye_centres(landmarks: Landmarks) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The image-right and image-left eye centres (mean of each eye's two corners)."""
    points = np.asarray(landmarks, dtype=np.float64)
    return points[0:2].mean(axis=0), points[2:4].mean(axis=0)


def oval(
    landmarks: Landmarks, scale: float = 1.0
) -> tuple[tuple[float, float], float, float, float]:
    """The face oval of ``landmarks`` scaled by ``scale``: (centre, half-width, half-height,
    angle in degrees of the eye line), image coordinates."""
    right, left = eye_centres(landmarks)
    nose = np.asarray(landmarks, dtype=np.float64)[4]
    middle = (right + left) / 2.0
    centre = middle + OVAL_CENTRE_TOWARDS_NOSE * (nose - middle)
    axis = right - left
    distance = float(np.hypot(*axis))
    angle = math.degrees(math.atan2(axis[1], axis[0]))
    return (
        (float(centre[0]), float(centre[1])),
        scale * OVAL_HALF_WIDTH * distance,
        scale * OVAL_HALF_HEIGHT * distance,
        angle,
    )


def oval_mask(
    shape: tuple[int, ...], landmarks: Landmarks, scale: float = 1.0
) -> NDArray[np.bool_]:
    """``(H, W)`` True inside the face oval of ``landmarks`` scaled by ``scale``."""
    height, width = shape[:2]
    (cx, cy), half_w, half_h, angle = oval(landmarks, scale)
    ys, xs = np.mgrid[0:height, 0:width]
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u = (xs - cx) * cos + (ys - cy) * sin
    v = -(xs - cx) * sin + (ys - cy) * cos
    inside: NDArray[np.bool_] = (u / half_w) ** 2 + (v / half_h) ** 2 <= 1.0
    return inside


def similarity(source: Landmarks, target: Landmarks) -> NDArray[np.float64]:
    """The ``(2, 3)`` similarity transform (rotation, uniform scale, shift) that maps the
    ``source`` points onto the ``target`` points with the least squared error (Umeyama)."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    variance = float((src_c**2).sum() / len(src))
    scale = float(np.trace(np.diag(singular) @ sign)) / variance if variance > 0 else 1.0
    shift = dst_mean - scale * rotation @ src_mean
    return np.column_stack([scale * rotation, shift])


def align_face(
    source: RGBImage, source_landmarks: Landmarks, shape: tuple[int, ...], target: Landmarks
) -> RGBImage:
    """``source`` warped into an image of ``shape`` so that its face lies on ``target``'s:
    the similarity transform, then a piecewise-affine correction that puts the 5 landmarks
    exactly on ``target`` (anchors round the oval keep the similarity)."""
    height, width = shape[:2]
    matrix = similarity(source_landmarks, target)
    moved = np.asarray(source_landmarks, dtype=np.float64) @ matrix[:, :2].T + matrix[:, 2]
    anchors = _anchors(target)
    # Triangles over target landmarks + anchors; each is filled from the matching triangle
    # of the similarity-moved source (anchors map to themselves).
    dst_points = np.vstack([np.asarray(target, dtype=np.float64), anchors])
    src_points = np.vstack([moved, anchors])
    similar: RGBImage = np.asarray(
        cv2.warpAffine(
            source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        ),
        dtype=np.uint8,
    )
    aligned = similar.copy()
    for triangle in _triangles(dst_points, (width, height)):
        _warp_triangle(similar, aligned, src_points[triangle], dst_points[triangle])
    return aligned


def swap_face(
    target: RGBImage,
    target_landmarks: Landmarks,
    source: RGBImage,
    source_landmarks: Landmarks,
    *,
    mask_scale: float = 1.0,
) -> RGBImage:
    """``target`` with its face replaced by ``source``'s, aligned and seamlessly cloned.

    Args:
        target: ``(H, W, 3)`` uint8 RGB, the head that keeps its place (the attacker).
        target_landmarks: its face's 5 landmarks.
        source: ``(h, w, 3)`` uint8 RGB, the face that is pasted (the victim).
        source_landmarks: the source face's 5 landmarks.
        mask_scale: the blended oval's size relative to :func:`oval`'s.

    Returns:
        A new ``(H, W, 3)`` uint8 image; ``target`` is unchanged.
    """
    if target.dtype != np.uint8 or target.ndim != 3 or source.dtype != np.uint8:
        raise ValueError("target and source must be (H, W, 3) uint8 images")
    aligned = align_face(source, source_landmarks, target.shape, target_landmarks)
    mask = oval_mask(target.shape, target_landmarks, mask_scale)
    margin = BORDER_MARGIN_PX
    mask[:margin], mask[-margin:], mask[:, :margin], mask[:, -margin:] = False, False, False, False
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("the face oval lies outside the target image")
    # seamlessClone puts the centre of the mask's bounding box at ``centre``: the same
    # place, since the aligned source is already in target coordinates.
    centre = ((int(xs.min()) + int(xs.max()) + 1) // 2, (int(ys.min()) + int(ys.max()) + 1) // 2)
    blended = cv2.seamlessClone(
        np.ascontiguousarray(aligned[..., ::-1]),
        np.ascontiguousarray(target[..., ::-1]),
        mask.astype(np.uint8) * 255,
        centre,
        cv2.NORMAL_CLONE,
    )
    swapped: RGBImage = np.ascontiguousarray(blended[..., ::-1])
    return swapped


def _anchors(landmarks: Landmarks) -> NDArray[np.float64]:
    (cx, cy), half_w, half_h, angle = oval(landmarks, ANCHOR_SCALE)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    t = np.linspace(0.0, 2 * math.pi, ANCHOR_POINTS, endpoint=False)
    u, v = half_w * np.cos(t), half_h * np.sin(t)
    return np.column_stack([cx + u * cos - v * sin, cy + u * sin + v * cos])


def _triangles(points: NDArray[np.float64], size: tuple[int, int]) -> list[list[int]]:
    """Delaunay triangles of ``points`` as index triples (points outside ``size`` are
    clipped into it for the subdivision)."""
    width, height = size
    clipped = np.clip(points, [0.0, 0.0], [width - 1.0, height - 1.0])
    subdivision = cv2.Subdiv2D((0, 0, width, height))
    for x, y in clipped:
        subdivision.insert((float(x), float(y)))
    triangles: list[list[int]] = []
    for tri in subdivision.getTriangleList():
        corners = np.asarray(tri, dtype=np.float64).reshape(3, 1, 2)
        distances = np.hypot(*np.moveaxis(clipped[np.newaxis] - corners, 2, 0))  # (3, n)
        index = distances.argmin(axis=1)
        # triangles touching the subdivision's outer virtual corners match no point
        if len(set(index.tolist())) == 3 and np.all(distances[np.arange(3), index] < 1.0):
            triangles.append([int(i) for i in index])
    return triangles


def _warp_triangle(
    source: RGBImage,
    out: RGBImage,
    src: NDArray[np.float64],
    dst: NDArray[np.float64],
) -> None:
    """Fill ``dst`` triangle of ``out`` with the ``src`` triangle of ``source`` (affine)."""
    height, width = out.shape[:2]
    x, y, w, h = cv2.boundingRect(dst.astype(np.float32))
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        return
    affine = cv2.getAffineTransform(src.astype(np.float32), (dst - [x0, y0]).astype(np.float32))
    patch = cv2.warpAffine(
        source, affine, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillConvexPoly(mask, np.rint(dst - [x0, y0]).astype(np.int32), 1)
    region = out[y0:y1, x0:x1]
    region[mask > 0] = patch[mask > 0]
