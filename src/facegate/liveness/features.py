"""Colour-texture and frequency features of a face for passive presentation-attack detection.

A printed photo or a screen re-captures a face through paper or pixels: the chroma gets
flatter, fine texture turns into halftone or pixel grids (moiré), and the frame usually
shows the medium's edges and the hands holding it. Two square crops carry those cues:

* the **face** (the detector's box), and
* its **context** (a square three face-widths wide, kept inside the frame, so a photo's
  border and the fingers holding it are in view without any black padding).

Each crop is described by uniform local binary pattern histograms (P=8 at radii 1 and 2) of
the H, S, V and Y, Cb, Cr channels, after Boulkenafet et al., "Face anti-spoofing based on
colour texture analysis" (ICIP 2015), plus the log share of spectral energy in ten radial
frequency bands of the grey crop. A sharper face crop (128 px) adds 16 finer spectral bands
(halftone dots, pixel grids) and H, S, V histograms (a medium's gamut and black level).
Subject-disjoint cross-validation on NUAA chose the two crops (face alone ACER 3.0%, face
plus context 0.6%); the detail features lowered the BPCER of cameras left out of training
(``facegate bench pad ../shared/data``, README "Liveness").
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from facegate.liveness import medium
from facegate.liveness.medium import SPECTRUM_LENGTH, STATISTICS_LENGTH
from facegate.vision.image import RGBImage
from facegate.vision.record import Box

FloatVector = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How a face becomes a vector; stored in the model file so training and serving agree."""

    #: Both crops are resized to this square side before any feature is taken.
    crop_side: int = 64
    #: Side of the context crop, in face-box widths (clipped to the frame).
    context_widths: float = 3.0
    #: LBP neighbours and radii; "nri_uniform" codes give P·(P-1)+3 bins per histogram.
    lbp_points: int = 8
    lbp_radii: tuple[int, ...] = (1, 2)
    #: Radial frequency bands of the grey crop's spectrum.
    frequency_bands: int = 10
    #: Side of a sharper face crop for the detail features (halftone dots and pixel grids
    #: are finer than the 64 px crops can hold).
    detail_side: int = 128
    #: Radial bands of the detail crop's spectrum (0: none, as in the first model).
    detail_bands: int = 16
    #: Bins of each of the detail crop's H, S and V histograms: a print's or a screen's
    #: gamut and black level (0: none).
    colour_bins: int = 16
    #: The medium's statistics and whitened spectra (:mod:`facegate.liveness.medium`) on
    #: face and context crops of ``detail_side``.
    medium: bool = True

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "lbp_radii": list(self.lbp_radii)}

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> FeatureSpec:
        radii = raw.get("lbp_radii", [1, 2])
        if not isinstance(radii, list):
            raise ValueError("feature spec: lbp_radii must be a list")
        return cls(
            crop_side=int(str(raw["crop_side"])),
            context_widths=float(str(raw["context_widths"])),
            lbp_points=int(str(raw["lbp_points"])),
            lbp_radii=tuple(int(r) for r in radii),
            frequency_bands=int(str(raw["frequency_bands"])),
            # Absent from the first model's file, which had neither.
            detail_side=int(str(raw.get("detail_side", 128))),
            detail_bands=int(str(raw.get("detail_bands", 0))),
            colour_bins=int(str(raw.get("colour_bins", 0))),
            medium=bool(raw.get("medium", False)),
        )

    @property
    def length(self) -> int:
        bins = self.lbp_points * (self.lbp_points - 1) + 3
        per_crop = 6 * len(self.lbp_radii) * bins + self.frequency_bands
        detail = self.detail_bands + 3 * self.colour_bins
        return 2 * per_crop + detail + (STATISTICS_LENGTH + SPECTRUM_LENGTH) * self.medium


def face_crops(image: RGBImage, box: Box, spec: FeatureSpec) -> tuple[RGBImage, RGBImage]:
    """The face and context crops, each ``(side, side, 3)`` uint8."""
    height, width = image.shape[:2]
    face = _resized(image, (box.x1, box.y1, box.x2, box.y2), spec.crop_side)
    side = min(spec.context_widths * max(box.width, box.height), float(height), float(width))
    cx, cy = box.center
    x1 = min(max(cx - side / 2.0, 0.0), width - side)
    y1 = min(max(cy - side / 2.0, 0.0), height - side)
    context = _resized(image, (x1, y1, x1 + side, y1 + side), spec.crop_side)
    return face, context


def pad_features(image: RGBImage, box: Box, spec: FeatureSpec) -> FloatVector:
    """The feature vector of the face in ``box`` (length ``spec.length``)."""
    if box.width < 2 or box.height < 2:
        raise ValueError(f"face box too small for liveness features: {box}")
    face, context = face_crops(image, box, spec)
    parts = [_crop_features(face, spec), _crop_features(context, spec)]
    if spec.detail_bands or spec.colour_bins or spec.medium:
        sharp = FeatureSpec(crop_side=spec.detail_side, context_widths=spec.context_widths)
        detail, surround = face_crops(image, box, sharp)
        parts.append(_detail_features(detail, spec))
        if spec.medium:
            parts += [
                medium.statistics(detail, surround),
                medium.whitened_spectrum(detail, surround),
            ]
    return np.asarray(np.concatenate(parts), dtype=np.float64)


def _resized(image: RGBImage, box: tuple[float, float, float, float], side: int) -> RGBImage:
    x1, y1, x2, y2 = (round(v) for v in box)
    x1, y1 = max(x1, 0), max(y1, 0)
    x2, y2 = min(max(x2, x1 + 1), image.shape[1]), min(max(y2, y1 + 1), image.shape[0])
    crop = Image.fromarray(image[y1:y2, x1:x2])
    return np.asarray(crop.resize((side, side), Image.Resampling.BILINEAR), dtype=np.uint8)


def _crop_features(crop: RGBImage, spec: FeatureSpec) -> FloatVector:
    from skimage.color import rgb2hsv, rgb2ycbcr  # scikit-image is slow to import
    from skimage.feature import local_binary_pattern

    hsv = np.clip(rgb2hsv(crop) * 255.0, 0, 255).astype(np.uint8)
    ycbcr = np.clip(rgb2ycbcr(crop), 0, 255).astype(np.uint8)
    bins = spec.lbp_points * (spec.lbp_points - 1) + 3
    parts: list[FloatVector] = []
    for space in (hsv, ycbcr):
        for channel in range(3):
            for radius in spec.lbp_radii:
                codes = local_binary_pattern(  # type: ignore[no-untyped-call]
                    space[..., channel], spec.lbp_points, radius, method="nri_uniform"
                )
                # nri-uniform codes are the integers 0..bins-1: a bincount is the histogram.
                counts = np.bincount(codes.astype(np.intp).ravel(), minlength=bins)
                # Square roots of the shares (Hellinger): suit a linear model better.
                parts.append(np.sqrt(counts / max(int(counts.sum()), 1)))
    parts.append(_band_energies(crop.astype(np.float64).mean(axis=2), spec.frequency_bands))
    return np.concatenate(parts)


def _detail_features(crop: RGBImage, spec: FeatureSpec) -> FloatVector:
    from skimage.color import rgb2hsv

    parts: list[FloatVector] = []
    if spec.detail_bands:
        parts.append(_band_energies(crop.astype(np.float64).mean(axis=2), spec.detail_bands))
    if spec.colour_bins:
        hsv = rgb2hsv(crop)
        for channel in range(3):
            counts, _ = np.histogram(hsv[..., channel], bins=spec.colour_bins, range=(0.0, 1.0))
            parts.append(np.sqrt(counts / max(int(counts.sum()), 1)))
    return np.concatenate(parts) if parts else np.zeros(0)


@functools.lru_cache(maxsize=8)
def _band_index(shape: tuple[int, int], bands: int) -> NDArray[np.intp]:
    rows, cols = np.indices(shape)
    radius = np.hypot(rows - shape[0] // 2, cols - shape[1] // 2)
    edges = np.linspace(0.0, float(radius.max()) + 1e-9, bands + 1)
    return np.asarray(np.searchsorted(edges, radius, side="right") - 1, dtype=np.intp).ravel()


def _band_energies(gray: NDArray[np.float64], bands: int) -> FloatVector:
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(gray - gray.mean())))
    index = _band_index((spectrum.shape[0], spectrum.shape[1]), bands)
    energy = np.bincount(index, weights=spectrum.ravel(), minlength=bands)[:bands]
    total = max(float(energy.sum()), 1e-12)
    return np.asarray(np.log(energy / total + 1e-9), dtype=np.float64)
