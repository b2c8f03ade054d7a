"""128-D face embeddings with dlib's ResNet (``dlib_face_recognition_resnet_model_v1``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlib
import numpy as np

from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage
from facegate.vision.record import EMBEDDING_DIM, Face

RESNET_V1 = "dlib_resnet_v1"


class DlibResNetEmbedder:
    """Adds ``face.embedding``: ``(128,)`` float32, from the aligned chip.

    Args:
        registry: where the model file is verified.
        num_jitters: extra randomly jittered copies averaged per face (0 = one pass);
            each costs a full network pass.
    """

    name = "embed"
    model_name = RESNET_V1

    def __init__(
        self, registry: ModelRegistry, model_path: Path | None = None, num_jitters: int = 0
    ) -> None:
        if num_jitters < 0:
            raise ValueError(f"num_jitters must be >= 0, got {num_jitters}")
        path = registry.verified_path(RESNET_V1, model_path)
        self._model: Any = dlib.face_recognition_model_v1(str(path))
        self.num_jitters = num_jitters

    def process(self, image: RGBImage, face: Face) -> None:
        if face.chip is None:
            raise ValueError("face has no aligned chip: run the align stage first")
        vector = self._model.compute_face_descriptor(face.chip, self.num_jitters)
        embedding = np.asarray(vector, dtype=np.float32)
        if embedding.shape != (EMBEDDING_DIM,):
            raise ValueError(f"embedding has shape {embedding.shape}, expected ({EMBEDDING_DIM},)")
        face.embedding = embedding
