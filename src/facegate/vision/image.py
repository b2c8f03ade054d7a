"""Decoding untrusted image files into one canonical array.

Every image that enters facegate goes through :func:`load_image`: it honours the EXIF
orientation, converts every colour mode to 8-bit RGB, and refuses decompression bombs
before decoding any pixel.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from facegate.core.config import DEFAULT_MAX_IMAGE_PIXELS
from facegate.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError

#: Larger than any camera frame or ID photo; a file this big is refused before decoding.
DEFAULT_MAX_IMAGE_BYTES = 50 * 1024 * 1024
#: The smallest side on which a face can be found at all.
MIN_IMAGE_SIDE = 32
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_WHITE = (255, 255, 255)

RGBImage = NDArray[np.uint8]
"""An image as a ``(height, width, 3)`` uint8 array, RGB order, row-major."""


def load_image(
    source: bytes | Path | str,
    *,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    max_side: int | None = None,
) -> RGBImage:
    """Decode ``source`` (file path or encoded bytes) to a ``(H, W, 3)`` uint8 RGB array.

    With ``max_side``, an image whose longer side is larger comes back shrunk to it (JPEGs
    are decoded at a reduced scale already), so later stages work on a bounded copy.

    Raises:
        ImageTooLargeError: more than ``max_bytes`` bytes or ``max_pixels`` pixels.
        CorruptImageError: not decodable, truncated, or missing.
        UnsupportedImageError: decodable but unusable (too small, unknown mode).

    >>> from skimage import data
    >>> import io; from PIL import Image
    >>> buf = io.BytesIO(); Image.fromarray(data.astronaut()).save(buf, "PNG")
    >>> load_image(buf.getvalue()).shape
    (512, 512, 3)
    """
    data = _read_bytes(source, max_bytes)
    name = str(source) if not isinstance(source, bytes) else "image"
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; a bomb must be an error here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size
                if width * height > max_pixels:
                    raise ImageTooLargeError(
                        f"{name}: {width}×{height} = {width * height:,} pixels exceeds the "
                        f"limit of {max_pixels:,}"
                    )
                if max_side is not None and opened.format == "JPEG":
                    opened.draft(opened.mode, (max_side, max_side))
                opened.load()
                image = ImageOps.exif_transpose(opened)
                if max_side is not None and max(image.size) > max_side:
                    image = _shrunk(image, max_side)
                return _to_rgb(image, name)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLargeError(f"{name}: {exc}") from exc
        except UnidentifiedImageError as exc:
            raise CorruptImageError(f"{name}: not a recognised image format") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorruptImageError(f"{name}: corrupt or truncated image ({exc})") from exc


def _shrunk(image: Image.Image, max_side: int) -> Image.Image:
    scale = max_side / max(image.size)
    size = (max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale)))
    if image.mode not in {"RGB", "RGBA", "L", "LA"}:
        return image.resize(size, Image.Resampling.NEAREST)  # palette and high-depth modes
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def _read_bytes(source: bytes | Path | str, max_bytes: int) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise CorruptImageError(f"{path}: cannot read ({exc.strerror})") from exc
        if size > max_bytes:
            raise ImageTooLargeError(f"{path}: {size:,} bytes exceeds the limit of {max_bytes:,}")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CorruptImageError(f"{path}: cannot read ({exc.strerror})") from exc
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"{len(data):,} bytes exceeds the limit of {max_bytes:,}")
    if not data:
        raise CorruptImageError("empty image data")
    return data


def _to_rgb(image: Image.Image, name: str) -> RGBImage:
    if min(image.size) < MIN_IMAGE_SIDE:
        raise UnsupportedImageError(
            f"{name}: {image.size[0]}×{image.size[1]} is smaller than {MIN_IMAGE_SIDE} px a side"
        )
    mode = image.mode
    if mode in {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}:
        return _high_depth_to_rgb(image)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        image = Image.alpha_composite(background, rgba)
    try:
        rgb = image.convert("RGB")
    except ValueError as exc:
        raise UnsupportedImageError(f"{name}: colour mode {mode!r} is not supported") from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _high_depth_to_rgb(image: Image.Image) -> RGBImage:
    """Map 16-bit grayscale by its fixed range (keeps exposure); stretch 32-bit and float."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16"):
        gray16 = np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([gray16, gray16, gray16], axis=-1))
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    span = high - low
    scaled = np.zeros_like(values) if span == 0 else (values - low) * (255.0 / span)
    gray = np.clip(np.nan_to_num(scaled), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.stack([gray, gray, gray], axis=-1))
