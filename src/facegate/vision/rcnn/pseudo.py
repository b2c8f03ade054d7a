"""Pseudo-labels: boxes drawn by a teacher detector on a site's unlabelled pictures.

A site can train on its own camera footage without drawing boxes. Only confident
detections become labels; an image with a doubtful detection is left out entirely, since
keeping it would teach the network that the doubtful face is background.

The teacher is YuNet (the default engine's detector, :class:`Teacher`) or dlib's HOG; each
has its own thresholds on its own score scale (:data:`TEACHER_THRESHOLDS`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from facegate.errors import ImageError
from facegate.models.registry import ModelRegistry
from facegate.vision.detect import HogDetector
from facegate.vision.image import load_image
from facegate.vision.rcnn.annotations import FACE_LABEL, AnnotatedImage, LabelledBox
from facegate.vision.stages import Detector
from facegate.vision.yunet import YunetDetector


class Teacher(StrEnum):
    """The detector that draws pseudo-labels.

    YUNET: OpenCV Zoo's YuNet, the sface engine's detector (the default): it boxes masked,
    turned and background faces that HOG's labels would teach as background.
    HOG: dlib's HOG upsampled once (no model file).
    """

    YUNET = "yunet"
    HOG = "hog"


@dataclass(frozen=True, slots=True)
class PseudoThresholds:
    """Cuts on a teacher's score: ``>= min_score`` becomes a box; ``doubt_score`` up to
    ``min_score`` is doubtful and drops its picture; below ``doubt_score`` is no face.
    A higher ``min_score`` keeps surer boxes; a lower ``doubt_score`` drops more pictures
    rather than risk a face taught as background."""

    min_score: float
    doubt_score: float

    def __post_init__(self) -> None:
        if self.doubt_score > self.min_score:
            raise ValueError(
                f"doubt_score ({self.doubt_score}) must not exceed min_score ({self.min_score})"
            )


#: YuNet's cuts, read off its detections on face_mask_detection_subset (105 images, 120
#: annotated faces, matched at IoU 0.5; README "A site's own face detector" has the
#: command). Scores >= 0.8: 116 faces and 1 other detection, itself a face the annotators
#: skipped. 0.3-0.8: 3 faces and 24 others, several of them unannotated faces. 0.1-0.3:
#: 1 face, 63 others. Used as pseudo-labels, these cuts keep 89 of the 105 pictures (no
#: annotated face missed, the one extra box on that skipped face) and drop 16; HOG's keep
#: 31 and drop 48. Dropping a picture costs only data; a missed face teaches background.
YUNET_THRESHOLDS = PseudoThresholds(min_score=0.8, doubt_score=0.3)
#: HOG's SVM margins: half a unit above dlib's own cut of 0 for a box, where false windows
#: (clothing, backgrounds) score near 0 and faces above 1; -0.5 and up is doubtful.
HOG_THRESHOLDS = PseudoThresholds(min_score=0.5, doubt_score=-0.5)
TEACHER_THRESHOLDS: dict[Teacher, PseudoThresholds] = {
    Teacher.YUNET: YUNET_THRESHOLDS,
    Teacher.HOG: HOG_THRESHOLDS,
}
DEFAULT_TEACHER = Teacher.YUNET
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
PSEUDO_SOURCE_LABEL = "pseudo"


@dataclass(slots=True)
class PseudoLabels:
    """Labelled pictures, the count of those without a face or with a doubtful one, and
    the teacher and cuts that decided."""

    images: list[AnnotatedImage] = field(default_factory=list)
    no_face: int = 0
    doubtful: int = 0
    unreadable: list[str] = field(default_factory=list)
    teacher: Teacher = DEFAULT_TEACHER
    cuts: PseudoThresholds = YUNET_THRESHOLDS

    def to_json(self) -> dict[str, object]:
        """Counts, teacher and cuts (the unreadable files' count, not their names)."""
        return {
            "teacher": self.teacher.value,
            "min_score": self.cuts.min_score,
            "doubt_score": self.cuts.doubt_score,
            "pictures": len(self.images) + self.no_face + self.doubtful + len(self.unreadable),
            "kept": len(self.images),
            "no_face": self.no_face,
            "doubtful": self.doubtful,
            "unreadable": len(self.unreadable),
        }


def labelling_detector(
    teacher: Teacher = DEFAULT_TEACHER, registry: ModelRegistry | None = None
) -> Detector:
    """``teacher`` reporting down to its doubt score, so doubtful detections are seen.

    ``registry`` (default: the packaged one) supplies YuNet's hash-checked model file.

    Raises:
        ValueError: ``teacher`` is not a :class:`Teacher`.
    """
    doubt = TEACHER_THRESHOLDS[Teacher(teacher)].doubt_score
    if Teacher(teacher) is Teacher.HOG:
        return HogDetector(upsample_schedule=(1,), threshold=doubt)
    return YunetDetector(registry or ModelRegistry.default(), score_threshold=doubt)


def find_images(folder: Path, limit: int | None = None) -> list[Path]:
    """Images under ``folder`` (recursively); with ``limit``, a fixed pseudo-random subset.

    The subset is chosen by the hash of each path relative to ``folder``, so it is the
    same on every machine and does not depend on directory listing order.
    """
    found = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if limit is not None:
        found = sorted(
            found,
            key=lambda p: hashlib.sha256(p.relative_to(folder).as_posix().encode()).hexdigest(),
        )[:limit]
    return found


def pseudo_label(
    paths: Sequence[Path],
    detector: Detector | None = None,
    *,
    teacher: Teacher = DEFAULT_TEACHER,
    min_score: float | None = None,
    on_image: Callable[[], None] | None = None,
) -> PseudoLabels:
    """Label ``paths`` with ``detector`` (default: :func:`labelling_detector` of ``teacher``).

    Cuts are ``teacher``'s :data:`TEACHER_THRESHOLDS`, so a ``detector`` given must score
    on that teacher's scale; ``min_score`` replaces the box cut (the doubt cut stays, or
    follows ``min_score`` down when that is lower).
    """
    cuts = TEACHER_THRESHOLDS[Teacher(teacher)]
    if min_score is not None:
        cuts = PseudoThresholds(min_score, min(cuts.doubt_score, min_score))
    detector = detector or labelling_detector(teacher)
    result = PseudoLabels(teacher=Teacher(teacher), cuts=cuts)
    for path in paths:
        try:
            pixels = load_image(path)
        except ImageError as exc:
            result.unreadable.append(f"{path}: {exc}")
        else:
            faces = [f for f in detector.detect(pixels) if f.detection_score >= cuts.doubt_score]
            confident = [f for f in faces if f.detection_score >= cuts.min_score]
            if len(confident) < len(faces):
                result.doubtful += 1
            elif not confident:
                result.no_face += 1
            else:
                height, width = pixels.shape[:2]
                boxes = tuple(
                    LabelledBox(
                        max(0.0, f.box.x1),
                        max(0.0, f.box.y1),
                        min(float(width), f.box.x2),
                        min(float(height), f.box.y2),
                        FACE_LABEL,
                        PSEUDO_SOURCE_LABEL,
                    )
                    for f in confident
                )
                result.images.append(AnnotatedImage(path, width, height, boxes))
        if on_image is not None:
            on_image()
    return result
