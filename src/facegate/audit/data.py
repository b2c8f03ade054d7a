"""The audit's labelled faces: each image through the shipped engine once, kept in memory.

A site's evaluation folder (``labels.csv`` or one sub-folder per person, as ``facegate
bench``) is read, capped by ``max_people``/``max_images_per_person`` (people taken in a
seeded random order, so a small budget still spans the folder), and every image goes
through the default pipeline (YuNet, SFace alignment, quality, SFace) with the central face
selected. Images with no usable face are counted, not fatal.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from facegate.bench.datasets import read_labelled_folder
from facegate.errors import FacegateError
from facegate.gate.matcher import CalibratedMatcher
from facegate.matching import DEFAULT_OPERATING_POINT, OperatingPoint, operating_point
from facegate.matching.score import score
from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage, load_image
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Box, Face

#: Called with (done, total) while the folder is embedded.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class AuditSample:
    path: Path
    identity: str
    image: RGBImage
    #: Through every stage: ``chip`` (112 px RGB), ``keypoints``, ``quality``, ``embedding``.
    face: Face

    @property
    def embedding(self) -> NDArray[np.float32]:
        assert self.face.embedding is not None
        return self.face.embedding

    @property
    def chip(self) -> NDArray[np.uint8]:
        assert self.face.chip is not None
        return self.face.chip


@dataclass(frozen=True, slots=True)
class _SizedGallery:
    """What the matcher reads of a gallery for its 1:N threshold (only the size counts)."""

    subject_ids: tuple[str, ...]
    embeddings: NDArray[np.float32]
    owners: NDArray[np.int64]


@dataclass(slots=True)
class AuditData:
    samples: list[AuditSample]
    pipeline: FacePipeline
    registry: ModelRegistry
    point: OperatingPoint
    threshold: float
    images_read: int = 0
    #: Images skipped, by reason (no face, unreadable).
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return self.pipeline.embedding_model

    def by_identity(self) -> dict[str, list[AuditSample]]:
        groups: dict[str, list[AuditSample]] = defaultdict(list)
        for sample in self.samples:
            groups[sample.identity].append(sample)
        return dict(groups)

    def embeddings(self) -> NDArray[np.float32]:
        return np.stack([s.embedding for s in self.samples]).astype(np.float32)

    def score(self, a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
        """The project's one score, ``1 − euclidean distance`` of unit embeddings."""
        return float(score(a, b)[0, 0])

    def gallery_threshold(self, templates: int) -> float:
        """The gate's 1:N threshold for a gallery of ``templates`` (``CalibratedMatcher``:
        at least the 1:1 point, rising with the gallery)."""
        gallery = _SizedGallery(
            tuple(f"p{k}" for k in range(templates)),
            np.zeros((templates, 1), np.float32),
            np.arange(templates, dtype=np.int64),
        )
        return CalibratedMatcher(self.registry).identification_threshold(
            self.model, self.point, gallery
        )

    def embed_chip(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The shipped engine's unit embedding of an aligned 112 px RGB chip (OpenCV's
        network, as at the gate; attacks are judged by it, never by the torch copy)."""
        face = Face(
            box=Box(0.0, 0.0, float(chip.shape[1]), float(chip.shape[0])), detection_score=1.0
        )
        face.chip = chip
        self.pipeline.stages[-1].process(chip, face)
        assert face.embedding is not None
        return face.embedding

    def embed(self, image: RGBImage) -> Face | None:
        """``image`` through the shipped pipeline (central face); None when no face is found."""
        try:
            return self.pipeline.subject(image, Selection.CENTRAL)
        except FacegateError:
            return None

    def summary(self) -> dict[str, object]:
        return {
            "images_read": self.images_read,
            "faces": len(self.samples),
            "people": len({s.identity for s in self.samples}),
            "skipped": dict(self.skipped),
        }


def load_audit_data(
    root: Path,
    *,
    max_people: int | None = None,
    max_images_per_person: int | None = None,
    seed: int = 0,
    point: OperatingPoint = DEFAULT_OPERATING_POINT,
    progress: Progress | None = None,
) -> AuditData:
    registry = ModelRegistry.default()
    pipeline = FacePipeline.default(registry)
    threshold = operating_point(registry.entry(pipeline.embedding_model), point).threshold
    listed = read_labelled_folder(root)
    people = sorted({im.identity for im in listed})
    random.Random(seed).shuffle(people)
    if max_people is not None:
        people = people[:max_people]
    chosen_people = set(people)
    per_person: dict[str, int] = defaultdict(int)
    chosen = []
    for im in listed:
        if im.identity not in chosen_people:
            continue
        if max_images_per_person is not None and per_person[im.identity] >= max_images_per_person:
            continue
        per_person[im.identity] += 1
        chosen.append(im)
    data = AuditData([], pipeline, registry, point, threshold)
    for done, im in enumerate(chosen, start=1):
        data.images_read += 1
        try:
            image = load_image(im.path)
        except FacegateError:
            data.skipped["unreadable"] = data.skipped.get("unreadable", 0) + 1
            continue
        face = data.embed(image)
        if face is None or face.embedding is None or face.chip is None:
            data.skipped["no_face"] = data.skipped.get("no_face", 0) + 1
        else:
            data.samples.append(AuditSample(im.path, im.identity, image, face))
        if progress is not None:
            progress(done, len(chosen))
    return data
