"""The trained Faster R-CNN as a pipeline stage: a :class:`~facegate.vision.stages.Detector`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchvision.models.detection import FasterRCNN

from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage
from facegate.vision.rcnn.config import SITE_DETECTOR_MODEL
from facegate.vision.rcnn.weights import load_weights
from facegate.vision.record import Box, Face

#: Face class probability a detection must reach at a gate. The box head's softmax midpoint:
#: a site that needs another balance measures it with ``facegate detector eval``'s PR curve.
DEFAULT_SCORE_THRESHOLD = 0.5
#: Everything the network keeps (its own ``box_score_thresh`` floor still applies), so an
#: evaluation sees the whole precision-recall curve.
EVALUATION_SCORE_THRESHOLD = 0.0
_FACE = 1


class RcnnDetector:
    """A site's trained detector, loaded through the hash-checked registry.

    Args:
        registry: holds ``model_name`` (a site entry: ``facegate detector install``).
        model_name: registry name of the weights.
        path: a copy of the weights file to use instead of the registered one (still hashed).
        score_threshold: minimum face probability of a returned face.
    """

    name = "rcnn"

    def __init__(
        self,
        registry: ModelRegistry,
        model_name: str = SITE_DETECTOR_MODEL,
        path: Path | None = None,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    ) -> None:
        verified = registry.verified_path(model_name, path)
        self._init(load_weights(verified)[0], score_threshold)

    @classmethod
    def from_file(
        cls, path: Path, score_threshold: float = EVALUATION_SCORE_THRESHOLD
    ) -> RcnnDetector:
        """Unregistered weights, for evaluating a model before it is installed; never for a gate."""
        detector = cls.__new__(cls)
        detector._init(load_weights(path)[0], score_threshold)
        return detector

    def _init(self, model: FasterRCNN, score_threshold: float) -> None:
        if not 0.0 <= score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in [0, 1), got {score_threshold}")
        self._model = model.eval()
        self.score_threshold = score_threshold

    def detect(self, image: RGBImage) -> list[Face]:
        """Faces in ``image`` (``(H, W, 3)`` uint8 RGB), highest score first."""
        tensor = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
        with torch.inference_mode():
            found = self._model([tensor])[0]
        faces = [
            Face(box=Box(*(float(v) for v in box)), detection_score=float(score))
            for box, score, label in zip(
                found["boxes"].tolist(),
                found["scores"].tolist(),
                found["labels"].tolist(),
                strict=True,
            )
            if label == _FACE and score >= self.score_threshold
        ]
        return sorted(faces, key=lambda f: f.detection_score, reverse=True)
