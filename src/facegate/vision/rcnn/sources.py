"""Training sources named on the command line: ``FORMAT:ANNOTATIONS[:IMAGES]``.

``voc:ann/`` (images default to ``ann/../images``), ``csv:boxes.csv`` (paths relative to
the CSV), ``wider:wider_face_train_bbx_gt.txt:WIDER_train/images``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from facegate.errors import DatasetError
from facegate.vision.rcnn.annotations import AnnotatedImage, AnnotationFormat, read_annotations
from facegate.vision.rcnn.pseudo import (
    DEFAULT_TEACHER,
    PseudoLabels,
    Teacher,
    find_images,
    pseudo_label,
)


@dataclass(frozen=True, slots=True)
class Source:
    fmt: AnnotationFormat
    annotations: Path
    images: Path | None

    @classmethod
    def parse(cls, text: str) -> Source:
        """``FORMAT:ANNOTATIONS[:IMAGES]``; raises DatasetError on anything else."""
        parts = text.split(":")
        formats = ", ".join(f.value for f in AnnotationFormat)
        if len(parts) not in (2, 3) or not parts[1]:
            raise DatasetError(
                f"{text!r}: expected FORMAT:ANNOTATIONS[:IMAGES], FORMAT one of {formats}"
            )
        try:
            fmt = AnnotationFormat(parts[0].lower())
        except ValueError:
            raise DatasetError(f"{text!r}: unknown format {parts[0]!r}; one of {formats}") from None
        annotations = Path(parts[1])
        images = Path(parts[2]) if len(parts) == 3 and parts[2] else None
        if images is None and fmt is AnnotationFormat.VOC:
            images = annotations.parent / "images"
        if images is None and fmt is AnnotationFormat.WIDER:
            raise DatasetError(f"{text!r}: WIDER FACE needs the images folder: wider:FILE:IMAGES")
        return cls(fmt, annotations, images)

    def read(self) -> list[AnnotatedImage]:
        if not self.annotations.exists():
            raise DatasetError(f"{self.annotations}: no such annotation file or folder")
        return read_annotations(self.fmt, self.annotations, images_dir=self.images)


@dataclass(slots=True)
class TrainingSet:
    """Labelled images from every source plus pseudo-labelled ones, with counts per origin."""

    images: list[AnnotatedImage]
    counts: dict[str, int]
    pseudo: PseudoLabels | None


def gather(
    sources: Sequence[Source],
    unlabelled: Sequence[Path] = (),
    *,
    unlabelled_limit: int | None = None,
    teacher: Teacher = DEFAULT_TEACHER,
    min_score: float | None = None,
    on_image: Callable[[], None] | None = None,
) -> TrainingSet:
    """Read every source; pseudo-label each unlabelled folder (``unlabelled_limit`` images
    each) with ``teacher``, at its cuts unless ``min_score`` is given."""
    images: list[AnnotatedImage] = []
    counts: dict[str, int] = {}
    for source in sources:
        read = source.read()
        counts[str(source.annotations)] = len(read)
        images += read
    pseudo = None
    if unlabelled:
        paths: list[Path] = []
        for folder in unlabelled:
            if not folder.is_dir():
                raise DatasetError(f"{folder}: not a folder of images")
            paths += find_images(folder, unlabelled_limit)
        pseudo = pseudo_label(paths, teacher=teacher, min_score=min_score, on_image=on_image)
        counts["pseudo-labelled"] = len(pseudo.images)
        images += pseudo.images
    return TrainingSet(images, counts, pseudo)
