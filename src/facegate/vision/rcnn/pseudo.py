"""Pseudo-labels: boxes drawn by the default detector on a site's unlabelled pictures.

A site can train on its own camera footage without drawing boxes. Only confident
detections become labels; an image with a doubtful detection is left out entirely, since
keeping it would teach the network that the doubtful face is background.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from facegate.errors import ImageError
from facegate.vision.detect import HogDetector
from facegate.vision.image import load_image
from facegate.vision.rcnn.annotations import FACE_LABEL, AnnotatedImage, LabelledBox
from facegate.vision.stages import Detector

#: HOG SVM margin a detection needs to become a label: half a unit above dlib's own cut
#: of 0, where false windows (clothing, backgrounds) score near 0 and faces above 1.
PSEUDO_MIN_SCORE = 0.5
#: Detections between this margin and :data:`PSEUDO_MIN_SCORE` are doubtful: their image
#: is dropped rather than trained on with a face marked as background.
PSEUDO_DOUBT_SCORE = -0.5
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
PSEUDO_SOURCE_LABEL = "pseudo"


@dataclass(slots=True)
class PseudoLabels:
    images: list[AnnotatedImage] = field(default_factory=list)
    no_face: int = 0
    doubtful: int = 0
    unreadable: list[str] = field(default_factory=list)


def labelling_detector() -> HogDetector:
    """The default HOG detector, upsampled once, reporting down to the doubt margin."""
    return HogDetector(upsample_schedule=(1,), threshold=PSEUDO_DOUBT_SCORE)


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
    min_score: float = PSEUDO_MIN_SCORE,
    on_image: Callable[[], None] | None = None,
) -> PseudoLabels:
    """Label ``paths`` with ``detector`` (default: :func:`labelling_detector`)."""
    detector = detector or labelling_detector()
    result = PseudoLabels()
    for path in paths:
        try:
            pixels = load_image(path)
        except ImageError as exc:
            result.unreadable.append(f"{path}: {exc}")
        else:
            faces = detector.detect(pixels)
            confident = [f for f in faces if f.detection_score >= min_score]
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
