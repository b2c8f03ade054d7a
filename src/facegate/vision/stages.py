"""The interfaces every swappable vision stage implements."""

from __future__ import annotations

from typing import Protocol

from facegate.vision.image import RGBImage
from facegate.vision.record import Face


class Detector(Protocol):
    """Finds faces; returns them with ``box`` and ``detection_score`` set, best first."""

    name: str

    def detect(self, image: RGBImage) -> list[Face]: ...


class FaceStage(Protocol):
    """Adds one field to a face found in ``image``; never removes what earlier stages set."""

    name: str

    def process(self, image: RGBImage, face: Face) -> None: ...
