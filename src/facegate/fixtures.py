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


def write_y4m(path: Path, frames: list[NDArray[np.uint8]], fps: int = 15) -> Path:
    """Write RGB ``frames`` (each ``(H, W, 3)`` uint8, the same even size) as a Y4M video.

    The format Chromium's fake camera plays (``--use-file-for-fake-video-capture``): a text
    header, then per frame ``FRAME\\n`` and the Y, U and V planes, 4:2:0 subsampled, BT.601
    full range (``C420jpeg``). A one-frame file is looped: a frozen feed.

    Example::

        write_y4m(tmp_path / "face.y4m", [np.zeros((480, 640, 3), np.uint8)])
    """
    if not frames:
        raise ValueError("frames: give at least one frame")
    height, width = frames[0].shape[:2]
    if height % 2 or width % 2:
        raise ValueError("frames: width and height must be even for 4:2:0")
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
                raise ValueError(f"frames: every frame must be ({height}, {width}, 3) uint8")
            rgb = frame.astype(np.float32)
            r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
            y = 0.299 * r + 0.587 * g + 0.114 * b
            u = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b
            v = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b
            out.write(b"FRAME\n")
            out.write(_plane(y))
            for chroma in (u, v):
                pooled = chroma.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))
                out.write(_plane(pooled))
    return path


def _plane(values: NDArray[np.float32]) -> bytes:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8).tobytes()
