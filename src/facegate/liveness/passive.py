"""Passive presentation-attack detection on one frame: a linear model over colour texture.

The model is a standardised, class-balanced logistic regression over
:mod:`facegate.liveness.features`, trained by ``facegate liveness train ../shared/data`` on
the development corpus (:mod:`facegate.liveness.corpus`: bona fide faces of many cameras,
NUAA's real prints and attacks synthesised from the other cameras' photos) and shipped as
a JSON file whose SHA-256 is in the model registry (``pad_colour_texture_v2``). JSON, not
pickle: loading it runs no code.

The score is the model's probability that the face is bona fide (a live person). The
threshold is the logistic boundary, 0.5, fixed before any evaluation rather than tuned on
the test folds; ``facegate bench pad ../shared/data`` measures it with people, cameras and
attack species held out (README, "Liveness").
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from facegate.errors import ModelIntegrityError
from facegate.liveness.features import FeatureSpec, FloatVector, pad_features
from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage
from facegate.vision.record import Box

PAD_MODEL = "pad_colour_texture_v2"
MODEL_FORMAT = "facegate-pad-linear/1"
#: The logistic boundary: P(bona fide) below it is an attack. Chosen a priori, not tuned.
DEFAULT_THRESHOLD = 0.5


class PassiveReason(StrEnum):
    """Stable outcome codes of the passive check (audited; never the score)."""

    BONA_FIDE = "passive_ok"
    ATTACK = "passive_attack"


@dataclass(frozen=True, slots=True, eq=False)
class LinearPadModel:
    """``P(bona fide) = sigmoid(((x - mean) / scale) · weights + bias)``."""

    spec: FeatureSpec
    mean: FloatVector
    scale: FloatVector
    weights: FloatVector
    bias: float
    threshold: float = DEFAULT_THRESHOLD
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.spec.length
        for name in ("mean", "scale", "weights"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"PAD model: {name} must have {n} values")
        if not np.all(np.isfinite(self.weights)) or not np.all(self.scale > 0):
            raise ValueError("PAD model: weights must be finite and scales positive")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("PAD model: threshold must be in (0, 1)")

    def score_features(self, features: FloatVector) -> float:
        z = float(((features - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def score(self, image: RGBImage, box: Box) -> float:
        """P(bona fide) for the face in ``box`` of ``image``."""
        return self.score_features(pad_features(image, box, self.spec))

    def to_json(self) -> str:
        document = {
            "format": MODEL_FORMAT,
            "spec": self.spec.to_dict(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "threshold": self.threshold,
            "metadata": dict(self.metadata),
        }
        return json.dumps(document, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LinearPadModel:
        """Parse a model file; raises ``ValueError`` for anything malformed."""
        try:
            raw = json.loads(text)
            if raw.get("format") != MODEL_FORMAT:
                raise ValueError(f"not a {MODEL_FORMAT} model file")
            return cls(
                spec=FeatureSpec.from_dict(raw["spec"]),
                mean=np.asarray(raw["mean"], dtype=np.float64),
                scale=np.asarray(raw["scale"], dtype=np.float64),
                weights=np.asarray(raw["weights"], dtype=np.float64),
                bias=float(raw["bias"]),
                threshold=float(raw["threshold"]),
                metadata=dict(raw.get("metadata", {})),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed PAD model file: {exc}") from exc


@dataclass(frozen=True, slots=True)
class PassiveResult:
    passed: bool
    reason: PassiveReason


class PassiveDetector:
    """The shipped PAD model, loaded through the hash-checked registry."""

    name = "passive_pad"

    def __init__(self, registry: ModelRegistry | None = None, model_path: Path | None = None):
        registry = registry or ModelRegistry.default()
        path = registry.verified_path(PAD_MODEL, model_path)
        try:
            self.model = LinearPadModel.from_json(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ModelIntegrityError(f"model {PAD_MODEL!r}: {exc}") from exc

    def check(self, image: RGBImage, box: Box) -> PassiveResult:
        passed = self.model.score(image, box) >= self.model.threshold
        return PassiveResult(passed, PassiveReason.BONA_FIDE if passed else PassiveReason.ATTACK)
