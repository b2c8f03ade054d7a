"""The frame the pipeline works on: decoded outside any pipeline and bounded in size."""

from __future__ import annotations

from pathlib import Path

from facegate.vision.image import RGBImage, load_image

#: An encoded image: the bytes a device uploaded, or a file an operator named.
ImageSource = bytes | Path

#: Frames are matched on a copy whose longer side is at most this: a gate camera's face is
#: far smaller, and a 6000×6000 upload must not hold a pipeline for seconds.
MAX_FRAME_SIDE = 1280


def decode_frame(source: ImageSource, max_pixels: int) -> RGBImage:
    """``source`` as the bounded RGB copy the pipeline works on, ``(h, w, 3)`` uint8 with
    ``max(h, w) <= MAX_FRAME_SIDE``. Decoded before a pipeline is borrowed: decoding a
    large file must not stall the other gates.

    Raises:
        ImageError: not an image facegate can use; ``ImageTooLargeError`` over ``max_pixels``.
    """
    return load_image(source, max_pixels=max_pixels, max_side=MAX_FRAME_SIDE)
