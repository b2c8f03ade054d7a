"""Training samples for the detector: decoded once, augmented per step with torchvision.

Images are decoded through :func:`facegate.vision.image.load_image` (EXIF orientation,
grayscale/RGBA/16-bit conversion, bomb limits) and shrunk so the longer side is at most
:data:`PRELOAD_MAX_SIDE`: the network resizes to at most that anyway, and a few hundred
images then fit in memory, so a training step never waits on JPEG decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from facegate.vision.image import load_image
from facegate.vision.rcnn.annotations import FACE_LABEL, AnnotatedImage

#: Longest side kept in memory; the config's ``max_size`` (512) is the most the network uses.
PRELOAD_MAX_SIDE = 512
#: Probabilities of each augmentation. Flips: faces are left-right symmetric. Photometric:
#: gate cameras differ in exposure and white balance. Zoom-out (the picture shrunk on a
#: larger canvas): faces smaller than the training sets hold, as on high-mounted cameras.
#: Grayscale: night-time infrared frames.
FLIP_PROBABILITY = 0.5
PHOTOMETRIC_PROBABILITY = 0.5
ZOOM_OUT_PROBABILITY = 0.3
ZOOM_OUT_MAX = 2.0
GRAYSCALE_PROBABILITY = 0.1
#: Boxes that augmentation leaves smaller than this (pixels) are dropped.
MIN_AUGMENTED_BOX_SIDE = 2.0
_FACE_CLASS = 1
_MEAN_FILL = (124, 116, 104)  # ImageNet mean in 0-255: zoom-out canvas

Target = dict[str, torch.Tensor]


@dataclass(frozen=True, slots=True, eq=False)
class Sample:
    """One training image in memory: ``(3, H, W)`` uint8 and its face boxes ``(n, 4)``."""

    name: str
    image: torch.Tensor
    boxes: torch.Tensor


def preload(
    images: Sequence[AnnotatedImage], on_image: Callable[[], None] | None = None
) -> list[Sample]:
    """Decode and shrink every image; boxes are scaled with it. Non-face boxes are left out."""
    samples = []
    for annotated in images:
        pixels = load_image(annotated.path)
        height, width = pixels.shape[:2]
        factor = min(1.0, PRELOAD_MAX_SIDE / max(height, width))
        if factor < 1.0:
            size = (max(1, round(width * factor)), max(1, round(height * factor)))
            pixels = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
        # Annotations give the size after EXIF orientation, as load_image returns it.
        sx, sy = pixels.shape[1] / annotated.width, pixels.shape[0] / annotated.height
        boxes = [
            (b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy)
            for b in annotated.boxes
            if b.label == FACE_LABEL
        ]
        samples.append(
            Sample(
                name=annotated.path.name,
                image=torch.from_numpy(np.array(pixels, dtype=np.uint8))
                .permute(2, 0, 1)
                .contiguous(),
                boxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            )
        )
        if on_image is not None:
            on_image()
    return samples


def augmentation() -> v2.Compose:
    """The training transform: flips, colour, zoom-out and grayscale, boxes kept in step.

    Randomness comes from torch's global generator, which the trainer seeds per step.
    """
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(FLIP_PROBABILITY),
            v2.RandomApply([v2.RandomPhotometricDistort(p=1.0)], p=PHOTOMETRIC_PROBABILITY),
            v2.RandomZoomOut(
                fill=_MEAN_FILL, side_range=(1.0, ZOOM_OUT_MAX), p=ZOOM_OUT_PROBABILITY
            ),
            v2.RandomGrayscale(GRAYSCALE_PROBABILITY),
            v2.SanitizeBoundingBoxes(min_size=MIN_AUGMENTED_BOX_SIDE),
        ]
    )


def to_model_input(sample: Sample, transform: v2.Compose | None) -> tuple[torch.Tensor, Target]:
    """``sample`` (augmented when ``transform`` is given) as torchvision detection expects it."""
    height, width = sample.image.shape[1:]
    image = tv_tensors.Image(sample.image)
    target: dict[str, object] = {
        "boxes": tv_tensors.BoundingBoxes(
            sample.boxes.clone(), format="XYXY", canvas_size=(height, width)
        ),
        "labels": torch.full((len(sample.boxes),), _FACE_CLASS, dtype=torch.int64),
    }
    if transform is not None:
        image, target = transform(image, target)
    pixels = image.as_subclass(torch.Tensor).float() / 255.0
    boxes = target["boxes"]
    labels = target["labels"]
    assert isinstance(boxes, torch.Tensor)
    assert isinstance(labels, torch.Tensor)
    return pixels, {"boxes": boxes.as_subclass(torch.Tensor).float(), "labels": labels}
