"""load_image: every colour mode, EXIF orientation, and every way an image can be bad."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from facegate.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError
from facegate.vision.image import load_image


def _encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def test_rgb_png_round_trips_exactly(face_rgb: NDArray[np.uint8], face_png: bytes) -> None:
    loaded = load_image(face_png)
    assert loaded.dtype == np.uint8
    assert loaded.shape == (512, 512, 3)
    assert np.array_equal(loaded, face_rgb)


def test_path_and_bytes_give_the_same_array(tmp_path: Path, face_png: bytes) -> None:
    path = tmp_path / "face.png"
    path.write_bytes(face_png)
    assert np.array_equal(load_image(path), load_image(face_png))


def test_grayscale_becomes_three_equal_channels(face_rgb: NDArray[np.uint8]) -> None:
    gray = Image.fromarray(face_rgb).convert("L")
    loaded = load_image(_encode(gray))
    assert loaded.shape == (512, 512, 3)
    assert np.array_equal(loaded[..., 0], np.asarray(gray))
    assert np.array_equal(loaded[..., 0], loaded[..., 2])


def test_rgba_is_composited_on_white() -> None:
    rgba = np.zeros((64, 64, 4), dtype=np.uint8)
    rgba[:32, :, :] = (255, 0, 0, 255)  # opaque red top half, transparent bottom half
    loaded = load_image(_encode(Image.fromarray(rgba, "RGBA")))
    assert tuple(loaded[0, 0]) == (255, 0, 0)
    assert tuple(loaded[63, 63]) == (255, 255, 255)


def test_palette_with_transparency(face_rgb: NDArray[np.uint8]) -> None:
    palette = Image.fromarray(face_rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.info["transparency"] = 0
    loaded = load_image(_encode(palette, transparency=0))
    assert loaded.shape == (512, 512, 3)
    assert loaded.dtype == np.uint8


def test_sixteen_bit_grayscale_keeps_its_exposure() -> None:
    values = np.full((64, 64), 257 * 100, dtype=np.uint16)
    values[:, :32] = 65535
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    loaded = load_image(_encode(image))
    assert loaded[0, 0, 0] == 255
    assert loaded[0, 63, 0] == 100


def test_exif_orientation_is_honoured(face_rgb: NDArray[np.uint8]) -> None:
    # Orientation 6: the camera was rotated; viewers turn the stored pixels 90° clockwise.
    stored = Image.fromarray(face_rgb[:, :256])
    exif = Image.Exif()
    exif[0x0112] = 6
    loaded = load_image(_encode(stored, "JPEG", exif=exif, quality=95))
    assert loaded.shape == (256, 512, 3)
    expected = np.asarray(stored.transpose(Image.Transpose.ROTATE_270), dtype=np.float64)
    assert np.abs(loaded.astype(np.float64) - expected).mean() < 3.0


def test_corrupt_bytes_are_refused() -> None:
    with pytest.raises(CorruptImageError, match="not a recognised image"):
        load_image(b"this is not an image at all")


def test_truncated_jpeg_is_refused(face_rgb: NDArray[np.uint8]) -> None:
    data = _encode(Image.fromarray(face_rgb), "JPEG")
    with pytest.raises(CorruptImageError, match="corrupt or truncated"):
        load_image(data[: len(data) // 2])


def test_truncated_png_is_refused(face_png: bytes) -> None:
    with pytest.raises(CorruptImageError):
        load_image(face_png[: len(face_png) // 3])


def test_empty_and_missing_inputs(tmp_path: Path) -> None:
    with pytest.raises(CorruptImageError, match="empty"):
        load_image(b"")
    with pytest.raises(CorruptImageError, match="cannot read"):
        load_image(tmp_path / "missing.jpg")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 8000 × 6000 = 48 MP of zeros compresses to a few hundred kB.
    bomb = _encode(Image.new("L", (8000, 6000)))
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageTooLargeError, match="exceeds the limit of 40,000,000"):
        load_image(bomb)


def test_pixel_and_byte_limits_are_configurable(face_png: bytes) -> None:
    with pytest.raises(ImageTooLargeError, match="pixels"):
        load_image(face_png, max_pixels=100_000)
    with pytest.raises(ImageTooLargeError, match="bytes"):
        load_image(face_png, max_bytes=1000)


def test_tiny_image_is_unsupported() -> None:
    with pytest.raises(UnsupportedImageError, match="smaller than 32 px"):
        load_image(_encode(Image.new("RGB", (20, 200))))
