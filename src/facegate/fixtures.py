"""Real images facegate can always reach: package fixtures, plus ../shared/data when present."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

SHARED_DATA_ENV = "FACEGATE_SHARED_DATA"


def encode_png(image: NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def astronaut() -> NDArray[np.uint8]:
    """scikit-image's astronaut photo (Eileen Collins, public domain): ``(512, 512, 3)`` uint8."""
    from skimage import data  # scikit-image is slow to import; only fixtures need it

    return np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]


def no_face() -> NDArray[np.uint8]:
    """scikit-image's coffee cup: a real photo with no face."""
    from skimage import data

    return np.asarray(data.coffee(), dtype=np.uint8)  # type: ignore[no-untyped-call]


def shared_data_dir(checkout: Path | None = None) -> Path | None:
    """``$FACEGATE_SHARED_DATA``, else ``../shared/data`` beside ``checkout`` (default: the
    working directory); None when that folder does not exist."""
    override = os.environ.get(SHARED_DATA_ENV)
    candidate = Path(override) if override else (checkout or Path.cwd()).parent / "shared" / "data"
    return candidate.resolve() if candidate.is_dir() else None
