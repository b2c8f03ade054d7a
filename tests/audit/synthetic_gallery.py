"""AuditData of synthetic unit templates (no images, no models), for the measurement tests.

Each person has a random centre on the 128-d sphere; each image is the centre plus Gaussian
noise of the person's spread, renormalised, with a quality record the test chooses.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import numpy as np

from facegate.audit.data import AuditData, AuditSample
from facegate.matching import DEFAULT_OPERATING_POINT
from facegate.models.registry import ModelRegistry
from facegate.vision.pipeline import FacePipeline
from facegate.vision.record import Box, Face, Quality

#: The shipped engine's model name (its registry entry gives the door's target FMR).
MODEL = "opencv_sface_2021dec"
#: A threshold for these vectors: matches when the distance is below 0.7.
THRESHOLD = 0.3
_IMAGE = np.zeros((1, 1, 3), dtype=np.uint8)


def quality(yaw: float = 0.0, sharpness: float = 0.5, brightness: float = 120.0) -> Quality:
    return Quality(
        face_width=100.0,
        sharpness=sharpness,
        brightness=brightness,
        yaw=yaw,
        roll_degrees=0.0,
        score=1.0,
    )


def gallery(
    people: dict[str, tuple[int, float]],
    *,
    registry: ModelRegistry,
    seed: int = 0,
    qualities: dict[tuple[str, int], Quality] | None = None,
) -> AuditData:
    """``people``: identity → (images, per-dimension noise). ``qualities`` by (identity, image)."""
    rng = np.random.default_rng(seed)
    samples = []
    for identity, (count, spread) in people.items():
        centre = rng.standard_normal(128)
        centre /= np.linalg.norm(centre)
        for k in range(count):
            vector = centre + spread * rng.standard_normal(128)
            face = Face(
                box=Box(0.0, 0.0, 100.0, 100.0),
                detection_score=1.0,
                quality=(qualities or {}).get((identity, k), quality()),
                embedding=(vector / np.linalg.norm(vector)).astype(np.float32),
            )
            samples.append(AuditSample(Path(f"{identity}_{k}.jpg"), identity, _IMAGE, face))
    pipeline = cast(FacePipeline, SimpleNamespace(embedding_model=MODEL))
    return AuditData(samples, pipeline, registry, DEFAULT_OPERATING_POINT, THRESHOLD)
