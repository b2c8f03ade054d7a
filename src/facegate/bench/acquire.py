"""Turning benchmark images into embeddings, timing each stage, counting failures to acquire."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlib
import numpy as np
from rich.progress import Progress

from facegate.errors import FaceError, ImageError
from facegate.models.registry import ModelRegistry
from facegate.vision.embed import RESNET_V1
from facegate.vision.image import RGBImage, load_image
from facegate.vision.landmarks import SHAPE_PREDICTOR_5
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Embedding

#: face_recognition's default: one upsampling on every image.
NAIVE_UPSAMPLE = 1


@dataclass(slots=True)
class Acquisition:
    """One image's embedding (None on failure to acquire) and its per-stage seconds."""

    embedding: Embedding | None
    seconds: dict[str, float] = field(default_factory=dict)
    failure: str | None = None


Acquirer = Callable[[RGBImage], Acquisition]


def pipeline_acquirer(pipeline: FacePipeline, selection: Selection) -> Acquirer:
    """Acquire with facegate's pipeline, picking the subject by ``selection``."""

    def acquire(image: RGBImage) -> Acquisition:
        try:
            face = pipeline.subject(image, selection)
        except FaceError as exc:
            return Acquisition(None, failure=exc.code)
        return Acquisition(face.embedding, dict(face.stage_seconds))

    return acquire


class NaiveDlib:
    """The same dlib models called the way ``face_recognition`` does by default.

    HOG with one upsampling on every image, the first face dlib returns, 5 landmarks, one
    embedding pass with dlib's internal alignment. The baseline for accuracy and speed.
    """

    def __init__(self, registry: ModelRegistry) -> None:
        self._detector: Any = dlib.get_frontal_face_detector()
        self._predictor: Any = dlib.shape_predictor(str(registry.verified_path(SHAPE_PREDICTOR_5)))
        self._model: Any = dlib.face_recognition_model_v1(str(registry.verified_path(RESNET_V1)))

    def __call__(self, image: RGBImage) -> Acquisition:
        seconds: dict[str, float] = {}
        started = time.perf_counter()
        rects = self._detector(image, NAIVE_UPSAMPLE)
        seconds["detect"] = time.perf_counter() - started
        if not len(rects):
            return Acquisition(None, seconds, failure="no_face")
        started = time.perf_counter()
        shape = self._predictor(image, rects[0])
        seconds["landmarks"] = time.perf_counter() - started
        started = time.perf_counter()
        vector = self._model.compute_face_descriptor(image, shape, 0)
        seconds["embed"] = time.perf_counter() - started
        return Acquisition(np.asarray(vector, dtype=np.float32), seconds)


def acquire_all(
    paths: Sequence[Path], acquirer: Acquirer, label: str, progress: Progress | None = None
) -> dict[Path, Acquisition]:
    """Decode and acquire every path once (decode time is the ``decode`` stage)."""
    results: dict[Path, Acquisition] = {}
    task = progress.add_task(label, total=len(paths)) if progress is not None else None
    for path in paths:
        started = time.perf_counter()
        try:
            image = load_image(path)
        except ImageError as exc:
            results[path] = Acquisition(None, failure=exc.code)
        else:
            decoded = time.perf_counter() - started
            result = acquirer(image)
            result.seconds = {"decode": decoded, **result.seconds}
            results[path] = result
        if progress is not None and task is not None:
            progress.advance(task)
    return results


def stage_timing(results: dict[Path, Acquisition]) -> dict[str, dict[str, float]]:
    """Median and p95 milliseconds per stage, and for the whole image, over all images."""
    stages: dict[str, list[float]] = {}
    totals: list[float] = []
    for result in results.values():
        for stage, seconds in result.seconds.items():
            stages.setdefault(stage, []).append(seconds)
        if result.seconds:
            totals.append(sum(result.seconds.values()))
    stages["total"] = totals
    return {
        stage: {
            "median_ms": float(np.median(values) * 1000.0),
            "p95_ms": float(np.percentile(values, 95) * 1000.0),
            "images": len(values),
        }
        for stage, values in stages.items()
        if values
    }
