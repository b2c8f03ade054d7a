"""Alignment: a similarity warp of the face onto dlib's reference 5-point template.

dlib's ResNet embedding was trained on chips made exactly this way (150 px, padding 0.25),
so alignment is delegated to ``dlib.get_face_chip`` rather than re-implemented.
"""

from __future__ import annotations

import dlib
import numpy as np

from facegate.vision.image import RGBImage
from facegate.vision.landmarks import to_dlib_shape
from facegate.vision.record import Face

#: Side of the aligned chip dlib's ResNet expects, in pixels.
CHIP_SIZE = 150
#: Margin around the reference template, as a fraction of its size; dlib's training value.
CHIP_PADDING = 0.25


class DlibAligner:
    """Adds ``face.chip``: the aligned ``(150, 150, 3)`` uint8 RGB crop."""

    name = "align"

    def __init__(self, size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> None:
        if size < 32:
            raise ValueError(f"size must be at least 32 px, got {size}")
        if not 0.0 <= padding <= 1.0:
            raise ValueError(f"padding must be in [0, 1], got {padding}")
        self.size = size
        self.padding = padding

    def process(self, image: RGBImage, face: Face) -> None:
        chip = dlib.get_face_chip(image, to_dlib_shape(face), self.size, self.padding)
        face.chip = np.ascontiguousarray(chip, dtype=np.uint8)
