"""Annotation check before training: faces the default detector finds that no box covers.

A poisoned training set can hide a backdoor in the site detector by showing faces that
wear a trigger (a sticker, a pattern) with their boxes removed, so the network learns
"face + trigger = background". The poisoned pictures still show faces, and YuNet, trained
elsewhere, still finds them. Every training picture therefore goes through YuNet; a face it
finds with high confidence that overlaps no annotated box flags the picture. Flagged
pictures are left out of training and listed in the report, so the site can fix the
annotations (an honest miss) or investigate (a poisoning) and train again.

Pictures are excluded rather than the command refusing to run: ordinary datasets have a
few unannotated faces in the background (the mask set: see ``facegate audit security``'s
detector-backdoor entry for the count), a refusal would make the check the first thing a
site turns off, and a picture left out costs one training example, never safety.
``facegate detector train --keep-flagged`` trains on them anyway, still reporting them.

No torch import here: the check needs YuNet (OpenCV) only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage, load_image
from facegate.vision.rcnn.annotations import FACE_LABEL, AnnotatedImage
from facegate.vision.rcnn.pseudo import YUNET_THRESHOLDS
from facegate.vision.record import Face
from facegate.vision.yunet import YunetDetector

#: YuNet confidence a face needs before its missing box flags a picture: the cut at which
#: the trainer itself takes a YuNet face as a pseudo-label (a face sure enough to be labelled
#: is sure enough to demand a box). Blurred or half-visible background faces, which
#: annotators rightly skip, mostly score below it.
INSPECTION_MIN_SCORE = YUNET_THRESHOLDS.min_score
#: A found face "is annotated" when its IoU with some annotated box reaches this. Low,
#: because datasets draw face boxes differently (with or without forehead and chin) and a
#: covered face must not count as missing; a face with no box at all has IoU 0.
ANNOTATED_MIN_IOU = 0.3

Box = tuple[float, float, float, float]


class FaceFinder(Protocol):
    """What the check needs of a detector: faces in an ``(H, W, 3)`` uint8 RGB image."""

    def detect(self, image: RGBImage) -> list[Face]: ...


@dataclass(frozen=True, slots=True)
class FlaggedImage:
    """A training picture holding faces that no annotated box covers.

    ``faces`` are the unannotated faces, ``[x1, y1, x2, y2]`` pixels of the image as
    :func:`~facegate.vision.image.load_image` decodes it, with YuNet's confidence.
    """

    path: Path
    faces: tuple[tuple[Box, float], ...]

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "faces": [
                {"box": [round(v, 1) for v in box], "score": round(score, 3)}
                for box, score in self.faces
            ],
        }


@dataclass(frozen=True, slots=True)
class Inspection:
    """The outcome over a training set: ``kept`` in input order, ``flagged`` ones apart."""

    kept: list[AnnotatedImage]
    flagged: list[FlaggedImage]
    min_score: float
    min_iou: float

    @property
    def flagged_paths(self) -> frozenset[Path]:
        return frozenset(f.path for f in self.flagged)

    def to_json(self) -> dict[str, object]:
        return {
            "checked": len(self.kept) + len(self.flagged),
            "flagged": [f.to_json() for f in self.flagged],
            "min_score": self.min_score,
            "min_iou": self.min_iou,
        }


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes; 0 when either is empty."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def unannotated_faces(
    pixels: RGBImage,
    annotated: Sequence[Box],
    finder: FaceFinder,
    *,
    min_score: float = INSPECTION_MIN_SCORE,
    min_iou: float = ANNOTATED_MIN_IOU,
) -> list[tuple[Box, float]]:
    """Faces ``finder`` sees in ``pixels`` at ``min_score`` or more that overlap no box of
    ``annotated`` (IoU below ``min_iou`` with each), best first. Empty when all are covered."""
    if not 0.0 <= min_score <= 1.0 or not 0.0 < min_iou <= 1.0:
        raise ValueError(
            f"min_score must be in [0, 1] and min_iou in (0, 1]: {min_score}, {min_iou}"
        )
    found = []
    for face in finder.detect(pixels):
        if face.detection_score < min_score:
            continue
        box: Box = (face.box.x1, face.box.y1, face.box.x2, face.box.y2)
        if all(iou(box, other) < min_iou for other in annotated):
            found.append((box, float(face.detection_score)))
    return found


def default_finder(registry: ModelRegistry | None = None) -> YunetDetector:
    """YuNet from ``registry`` (default: the packaged one), returning faces down to the cut."""
    return YunetDetector(registry or ModelRegistry.default(), score_threshold=INSPECTION_MIN_SCORE)


def inspect_annotations(
    images: Sequence[AnnotatedImage],
    finder: FaceFinder | None = None,
    *,
    min_score: float = INSPECTION_MIN_SCORE,
    min_iou: float = ANNOTATED_MIN_IOU,
    on_image: Callable[[], None] | None = None,
) -> Inspection:
    """Check every picture of ``images`` against ``finder`` (default: YuNet).

    Only face boxes count as annotated, as only they are trained on: a face boxed under
    another label is background to the trainer, so it is flagged like an unboxed one.
    Raises what :func:`load_image` raises for an unreadable picture (the annotation readers
    have already opened each header).
    """
    chosen = finder if finder is not None else default_finder()
    kept: list[AnnotatedImage] = []
    flagged: list[FlaggedImage] = []
    for image in images:
        boxes = [(b.x1, b.y1, b.x2, b.y2) for b in image.boxes if b.label == FACE_LABEL]
        missing = unannotated_faces(
            load_image(image.path), boxes, chosen, min_score=min_score, min_iou=min_iou
        )
        if missing:
            flagged.append(FlaggedImage(image.path, tuple(missing)))
        else:
            kept.append(image)
        if on_image is not None:
            on_image()
    return Inspection(kept, flagged, min_score, min_iou)
