"""Bystander redaction (R-25): every face in a kept frame except the subject's, made
unrecognisable before the frame is written anywhere.

A frame kept for a disputed entry shows the subject, but often also neighbours, visitors or
passers-by who never enrolled. :func:`redact_bystanders` returns a copy of the frame in
which every face the detector finds, other than the subject's, is replaced by a coarse
mosaic; the caller stores that copy, never the original.

Detection for redaction leans the other way from detection for access: a missed bystander
leaks a face, a false alarm only coarsens a patch of background. :func:`bystander_detector`
therefore searches the upsampled image at a lower HOG threshold than the gate pipeline, and
runs the CNN as well.

>>> from facegate.fixtures import astronaut
>>> from facegate.vision.pipeline import FacePipeline, Selection
>>> frame = astronaut()                       # one face: the subject's
>>> subject = FacePipeline.default().subject(frame, Selection.LARGEST)
>>> kept = redact_bystanders(frame, subject.box, bystander_detector())
>>> bool((kept.image[83:171, 179:267] == frame[83:171, 179:267]).all())
True
>>> hidden = redact_bystanders(frame, None, bystander_detector())
>>> bool((hidden.image[83:171, 179:267] == frame[83:171, 179:267]).all())
False
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image

from facegate.errors import InvalidRecordError, UnsupportedImageError
from facegate.models.registry import ModelRegistry
from facegate.vision.detect import HogDetector, MmodDetector
from facegate.vision.image import RGBImage
from facegate.vision.record import Box, Face
from facegate.vision.stages import Detector

logger = logging.getLogger(__name__)

#: HOG pass on the frame upsampled once: finds faces down to ~40 px (the gate's first pass
#: stops at ~80 px); 110 ms on a 640×480 frame here. A second doubling costs 4× as much
#: and found 3 more of the 154 faces of the face-mask and dlib PASCAL sets (at dlib's
#: threshold).
BYSTANDER_UPSAMPLE = 1
#: HOG SVM margin for bystanders, below dlib's 0.0: on the face-mask set plus dlib's PASCAL
#: group photos (154 faces, 112 images) recall rises from 93 to 121 faces, false alarms
#: from 0 to 6; below -0.5 false alarms grow fast (23 at -0.7), and at -1.0 one lands
#: inside the astronaut's own face.
BYSTANDER_HOG_THRESHOLD = -0.5
#: The CNN runs on a copy this large: at the gate's 320 px it found none of the four faces
#: (37-91 px wide) of a 640×480 test frame, at 640 px the two largest.
BYSTANDER_CNN_MAX_SIDE = 640
#: Detections of one face by several detectors are merged when they overlap this much (IoU);
#: distinct labelled faces in those sets overlap 0.09 at most.
MERGE_IOU = 0.3
#: A detection whose IoU with the subject box reaches this is the subject's own face, not a
#: bystander: HOG's and the CNN's boxes of one face overlap 0.43-0.88 on the face-mask set.
SUBJECT_MIN_IOU = 0.4
#: Each bystander box grows by this fraction of its width (left, right) and height (bottom):
#: dlib's boxes stop at the jaw and cheeks; jawline and ears also identify.
BYSTANDER_MARGIN = 0.3
#: ... and by this fraction of its height upwards: the box starts at the eyebrows, while
#: forehead and hair (which people recognise each other by) lie above.
BYSTANDER_MARGIN_TOP = 0.5
#: Mosaic cells across the detected face box: eyes, nose and mouth fall into shared cells.
MOSAIC_CELLS_PER_FACE = 4
#: In ALL_BUT_SUBJECT mode, no mosaic cell is smaller than the longest side over this, so a
#: face no detector found is still reduced to a few cells.
FRAME_MOSAIC_CELLS = 32
#: Smallest mosaic cell, pixels.
MIN_CELL_SIDE = 2


class RedactionMode(StrEnum):
    """What is coarsened besides the bystanders' faces.

    FACES: each bystander's face (box plus margin); the rest of the frame stays legible.
    ALL_BUT_SUBJECT: the whole frame except the subject's box, for sites that prefer not to
        rely on the detector finding every face.
    """

    FACES = "faces"
    ALL_BUT_SUBJECT = "all_but_subject"


@dataclass(frozen=True, slots=True)
class Redaction:
    """The result of :func:`redact_bystanders`.

    Attributes:
        image: the redacted frame, ``(H, W, 3)`` uint8 RGB, a new array.
        bystanders: the regions mosaicked for bystander faces, ``[x1, y1, x2, y2)`` whole
            pixels, clipped to the frame (detector box plus margin), best detection first.
            Empty when the frame shows no face but the subject's.
        subject: the subject's box as kept (clipped to the frame), or None when every face
            was redacted.
        mode: how the frame was redacted.
    """

    image: RGBImage
    bystanders: tuple[Box, ...]
    subject: Box | None
    mode: RedactionMode


def bystander_detector(registry: ModelRegistry | None = None, *, cnn: bool = True) -> Detector:
    """The detector to redact with: HOG on the once-upsampled frame at a permissive
    threshold, merged with dlib's MMOD CNN.

    Args:
        registry: where the CNN's model file is verified (default: the packaged registry).
        cnn: run the CNN too. It finds turned and masked faces HOG misses (face-mask
            set: HOG alone 87 of 120 faces, with the CNN 104) but costs ~2.5 s per
            640×480 frame on a CPU; False leaves HOG alone (~0.15 s).

    Unlike the gate's :class:`~facegate.vision.detect.CascadeDetector`, which stops at the
    first detector (and the first scale) that finds anything, every pass always runs:
    finding the subject must not end the search for bystanders.
    """
    hog = HogDetector(upsample_schedule=(BYSTANDER_UPSAMPLE,), threshold=BYSTANDER_HOG_THRESHOLD)
    if not cnn:
        return hog
    cnn_detector = MmodDetector(
        registry or ModelRegistry.default(), max_side=BYSTANDER_CNN_MAX_SIDE
    )
    return _MergedDetector([hog, cnn_detector])


class _MergedDetector:
    """Runs every detector and merges their detections of one face into the enclosing box."""

    name = "bystanders"

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)

    def detect(self, image: RGBImage) -> list[Face]:
        found = [face for detector in self.detectors for face in detector.detect(image)]
        merged: list[Face] = []
        # Scores of different detectors are not comparable; order only decides which
        # detection seeds a group, and every group grows to cover all its members.
        for face in sorted(found, key=lambda f: f.detection_score, reverse=True):
            for index, kept in enumerate(merged):
                if _iou(face.box, kept.box) >= MERGE_IOU:
                    merged[index] = Face(_enclosing(kept.box, face.box), kept.detection_score)
                    break
            else:
                merged.append(Face(face.box, face.detection_score))
        return merged


def redact_bystanders(
    image: RGBImage,
    subject: Box | None,
    detector: Detector,
    mode: RedactionMode | str = RedactionMode.FACES,
) -> Redaction:
    """A copy of ``image`` in which every face but the subject's is beyond recognition.

    Args:
        image: the frame, ``(H, W, 3)`` uint8 RGB; never modified.
        subject: the subject's face box ``[x1, y1, x2, y2]`` in pixels of ``image`` (e.g.
            the gate pipeline's detection; it may stick out of the frame a little, as
            dlib's boxes do at the border), or None to redact every face.
        detector: finds the faces; use :func:`bystander_detector` (the gate pipeline's
            cascade stops searching once it has found one face).
        mode: see :class:`RedactionMode`.

    A detection whose IoU with ``subject`` reaches ``SUBJECT_MIN_IOU`` is the subject's
    face (a detector that does not merge may report one face twice) and is kept; every
    other detection is a bystander and is replaced by a mosaic over its box plus margins.
    The subject's box keeps its pixels, except where a bystander's own detector box reaches
    into it: then privacy wins.

    Raises:
        UnsupportedImageError: ``image`` is not a non-empty ``(H, W, 3)`` uint8 array.
        InvalidRecordError: ``subject`` is empty, not finite, or lies outside the frame.
        ValueError: ``mode`` is not a :class:`RedactionMode`.
    """
    _check_image(image)
    try:
        mode = RedactionMode(mode)
    except ValueError:
        choices = ", ".join(m.value for m in RedactionMode)
        raise ValueError(f"mode must be one of {choices}; got {mode!r}") from None
    height, width = image.shape[:2]
    kept = None if subject is None else _check_subject(subject, width, height)

    faces = detector.detect(image)
    bystanders = [face.box for face in faces if not _is_subject(face.box, kept)]
    if kept is not None and len(bystanders) == len(faces):
        logger.warning(
            "no detected face matches the subject box; keeping its pixels as given (%d faces)",
            len(faces),
        )
    regions = tuple(_enlarged(box, width, height) for box in bystanders)

    mask = np.zeros((height, width), dtype=bool)
    if mode is RedactionMode.ALL_BUT_SUBJECT:
        mask[:] = True
        widest = max([box.width for box in bystanders] + [kept.width if kept is not None else 0.0])
        cell = max(widest / MOSAIC_CELLS_PER_FACE, max(height, width) / FRAME_MOSAIC_CELLS)
        mosaic = _mosaic(image, cell)
    else:
        mosaic = image.copy()
        for box, region in zip(bystanders, regions, strict=True):
            x1, y1, x2, y2 = _pixels(region, width, height)
            cell = box.width / MOSAIC_CELLS_PER_FACE
            mosaic[y1:y2, x1:x2] = _mosaic(image[y1:y2, x1:x2], cell)
            mask[y1:y2, x1:x2] = True
    if kept is not None:
        x1, y1, x2, y2 = _pixels(kept, width, height)
        mask[y1:y2, x1:x2] = False
    for box in bystanders:
        # A bystander's face itself is never spared, even where it overlaps the subject box.
        x1, y1, x2, y2 = _pixels(box, width, height)
        mask[y1:y2, x1:x2] = True

    redacted = np.where(mask[:, :, np.newaxis], mosaic, image).astype(np.uint8)
    logger.debug("redacted %d bystander face(s) of %d (%s)", len(regions), len(faces), mode)
    return Redaction(image=redacted, bystanders=regions, subject=kept, mode=mode)


def _mosaic(patch: RGBImage, cell: float) -> RGBImage:
    """Each ``cell``-sized square replaced by its mean colour.

    Averaging is many-to-one: countless faces give the same few dozen colours, so no
    deblurring can bring the face back. The blocks are deliberately not smoothed
    afterwards: blurring a mosaic removes the block edges that mask it and makes the face
    easier for people to recognise again (Harmon & Julesz, Science 1973).
    """
    height, width = patch.shape[:2]
    side = max(cell, MIN_CELL_SIDE)
    cells = (max(1, math.ceil(width / side)), max(1, math.ceil(height / side)))
    small = Image.fromarray(patch).resize(cells, Image.Resampling.BOX)
    return np.asarray(small.resize((width, height), Image.Resampling.NEAREST), dtype=np.uint8)


def _check_image(image: object) -> None:
    if not isinstance(image, np.ndarray):
        raise UnsupportedImageError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise UnsupportedImageError(f"image must be uint8, got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise UnsupportedImageError(f"image must have shape (H, W, 3), got {image.shape}")


def _check_subject(subject: Box, width: int, height: int) -> Box:
    values = subject.as_list()
    if not all(math.isfinite(v) for v in values):
        raise InvalidRecordError(f"subject box must be finite, got {values}", reason="bad_box")
    if subject.width <= 0 or subject.height <= 0:
        raise InvalidRecordError(
            f"subject box must have x2 > x1 and y2 > y1, got {values}", reason="bad_box"
        )
    clipped = _clipped(subject, width, height)
    if clipped.width <= 0 or clipped.height <= 0:
        raise InvalidRecordError(
            f"subject box {values} lies outside the {width}×{height} frame", reason="bad_box"
        )
    return clipped


def _is_subject(box: Box, subject: Box | None) -> bool:
    return subject is not None and _iou(box, subject) >= SUBJECT_MIN_IOU


def _enlarged(box: Box, width: int, height: int) -> Box:
    dx, dy = BYSTANDER_MARGIN * box.width, BYSTANDER_MARGIN * box.height
    grown = Box(box.x1 - dx, box.y1 - BYSTANDER_MARGIN_TOP * box.height, box.x2 + dx, box.y2 + dy)
    x1, y1, x2, y2 = _pixels(grown, width, height)
    return Box(float(x1), float(y1), float(x2), float(y2))


def _pixels(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    """Every whole pixel the box touches, clipped to the frame (never fewer than it covers)."""
    x1 = min(max(math.floor(box.x1), 0), width)
    y1 = min(max(math.floor(box.y1), 0), height)
    x2 = min(max(math.ceil(box.x2), 0), width)
    y2 = min(max(math.ceil(box.y2), 0), height)
    return x1, y1, x2, y2


def _clipped(box: Box, width: int, height: int) -> Box:
    return Box(
        min(max(box.x1, 0.0), width),
        min(max(box.y1, 0.0), height),
        min(max(box.x2, 0.0), width),
        min(max(box.y2, 0.0), height),
    )


def _iou(a: Box, b: Box) -> float:
    inter = Box(max(a.x1, b.x1), max(a.y1, b.y1), min(a.x2, b.x2), min(a.y2, b.y2)).area
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _enclosing(a: Box, b: Box) -> Box:
    return Box(min(a.x1, b.x1), min(a.y1, b.y1), max(a.x2, b.x2), max(a.y2, b.y2))
