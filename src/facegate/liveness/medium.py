"""Features of the medium a face is shown on, beyond texture histograms.

A print or a screen re-renders the face: its black is a lifted grey and its white a paper
or a backlight (dynamic range, saturation, specular share), it is sharper or blurrier and
noisier or cleaner than the scene around it (the face crop against the ring of the context
crop outside it), and a halftone or pixel grid leaves peaks in the spectrum once the 1/f
trend of natural images is removed. Both groups take the 128 px face and context crops.

Chosen on the development corpus's held-out protocols (``facegate bench pad
../shared/data``): with these two groups the subject-disjoint NUAA figures and the BPCER of
cameras left out of training both fell; the choice was made on those protocols, so they are
somewhat optimistic about it (README, "Liveness").
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
from numpy.typing import NDArray

from facegate.vision.image import RGBImage

FloatVector = NDArray[np.float64]
#: Side of both crops these features expect.
SIDE = 128
#: Luminance percentiles: black level, quartiles, white level.
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
#: A pixel is specular (a glare spot on gloss or glass) when this bright and this grey.
SPECULAR_VALUE = 0.92
SPECULAR_SATURATION = 0.2
#: Radial bins of the whitened spectrum profile, and annuli searched for grid peaks.
PROFILE_BINS = 30
PEAK_ANNULI = 8
#: The face's third of the context crop (the context is three face widths).
_CENTRE = slice(SIDE // 3, SIDE - SIDE // 3)
_REGION_LENGTH = len(PERCENTILES) + 9
#: Values per crop pair: four region vectors and four face-against-ring contrasts; two
#: spectra of profile, slope and two peak measures per annulus.
STATISTICS_LENGTH = 4 * _REGION_LENGTH + 4
SPECTRUM_LENGTH = 2 * (PROFILE_BINS + 1 + 2 * PEAK_ANNULI)

_WINDOW = np.outer(np.hanning(SIDE), np.hanning(SIDE))
_RADIUS = np.hypot(*(np.indices((SIDE, SIDE)) - SIDE // 2))
_PROFILE_EDGES = np.linspace(2, SIDE // 2, PROFILE_BINS + 1)
_PROFILE_INDEX = np.digitize(_RADIUS, _PROFILE_EDGES) - 1
_PROFILE_VALID = (_PROFILE_INDEX >= 0) & (_PROFILE_INDEX < PROFILE_BINS)
_PEAK_EDGES = np.linspace(6, SIDE // 2, PEAK_ANNULI + 1)
_ANNULI = [
    np.flatnonzero((lo <= _RADIUS) & (hi > _RADIUS)) for lo, hi in itertools.pairwise(_PEAK_EDGES)
]
_TREND = np.vstack(
    [np.log((_PROFILE_EDGES[:-1] + _PROFILE_EDGES[1:]) / 2), np.ones(PROFILE_BINS)]
).T


def statistics(face: RGBImage, context: RGBImage) -> FloatVector:
    """Dynamic range, colour, specular share, sharpness and noise of the face, the context,
    their difference, and the context's centre against the whole; then the sharpness and
    noise of the centre against the ring around it."""
    _check(face, context)
    of_face, of_context = _region(face), _region(context)
    of_centre = _region(np.ascontiguousarray(context[_CENTRE, _CENTRE]))
    grey = _grey(context)
    ring = np.ones(grey.shape, dtype=bool)
    ring[_CENTRE, _CENTRE] = False
    laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1))
    residual = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))
    ring_sharp = np.log(laplacian[ring].mean() + 1e-3) - np.log(grey[ring].std() + 1.0)
    centre_sharp = np.log(laplacian[~ring].mean() + 1e-3) - np.log(grey[~ring].std() + 1.0)
    ring_noise = np.log(np.median(residual[ring]) + 1e-3)
    centre_noise = np.log(np.median(residual[~ring]) + 1e-3)
    contrasts = [centre_sharp - ring_sharp, centre_noise - ring_noise, ring_sharp, ring_noise]
    vector = np.concatenate(
        [of_face, of_context, of_face - of_context, of_centre - of_context, contrasts]
    )
    return np.asarray(vector, dtype=np.float64)


def whitened_spectrum(face: RGBImage, context: RGBImage) -> FloatVector:
    """For each crop: the radial log-power profile minus its fitted 1/f trend, the trend's
    slope, and how far each annulus's peak stands above its median (grids and dots)."""
    _check(face, context)
    return np.concatenate([_spectrum(_grey(face)), _spectrum(_grey(context))])


def _region(rgb: RGBImage) -> FloatVector:
    grey = _grey(rgb)
    level = grey / 255.0
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV_FULL).astype(np.float32) / 255.0
    saturation, value = hsv[..., 1], hsv[..., 2]
    points = np.percentile(level, PERCENTILES)
    rgb01 = rgb.astype(np.float32) / 255.0
    red_green = rgb01[..., 0] - rgb01[..., 1]
    yellow_blue = 0.5 * (rgb01[..., 0] + rgb01[..., 1]) - rgb01[..., 2]
    # Hasler and Süsstrunk's colourfulness.
    colourful = np.hypot(red_green.std(), yellow_blue.std()) + 0.3 * np.hypot(
        red_green.mean(), yellow_blue.mean()
    )
    specular = ((value > SPECULAR_VALUE) & (saturation < SPECULAR_SATURATION)).mean()
    spread = points[-1] - points[0]
    extra = [
        spread,
        np.log(spread + 1e-2),
        saturation.mean(),
        np.percentile(saturation, 95),
        colourful,
        np.sqrt(specular),
        _sharpness(grey),
        _noise(grey),
        _detail_ratio(grey),
    ]
    return np.asarray(np.concatenate([points, extra]), dtype=np.float64)


def _spectrum(grey: NDArray[np.float32]) -> FloatVector:
    power = np.abs(np.fft.fftshift(np.fft.fft2((grey - grey.mean()) * _WINDOW))) ** 2
    log_power = np.log(power + 1e-6)
    sums = np.bincount(
        _PROFILE_INDEX[_PROFILE_VALID], weights=log_power[_PROFILE_VALID], minlength=PROFILE_BINS
    )
    counts = np.bincount(_PROFILE_INDEX[_PROFILE_VALID], minlength=PROFILE_BINS)
    profile = sums / np.maximum(counts, 1)
    coefficients, *_ = np.linalg.lstsq(_TREND, profile, rcond=None)
    flat = log_power.ravel()
    peaks: list[float] = []
    for annulus in _ANNULI:
        values = flat[annulus]
        median, p99 = np.percentile(values, [50, 99])
        peaks += [float(values.max() - median), float(p99 - median)]
    return np.concatenate([profile - _TREND @ coefficients, [coefficients[0]], peaks])


def _grey(rgb: RGBImage) -> NDArray[np.float32]:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.float32)


def _sharpness(grey: NDArray[np.float32]) -> float:
    laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1))
    return float(np.log(laplacian.mean() + 1e-3) - np.log(grey.std() + 1.0))


def _noise(grey: NDArray[np.float32]) -> float:
    # Median absolute deviation of the fine residual, scaled to a Gaussian's sigma.
    residual = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))
    return float(np.log(np.median(residual) * 1.4826 + 1e-3))


def _detail_ratio(grey: NDArray[np.float32]) -> float:
    fine = cv2.GaussianBlur(grey, (0, 0), 1.0)
    coarse = cv2.GaussianBlur(grey, (0, 0), 3.0)
    return float(np.log((grey - fine).var() + 1e-3) - np.log((fine - coarse).var() + 1e-3))


def _check(face: RGBImage, context: RGBImage) -> None:
    for crop in (face, context):
        if crop.shape != (SIDE, SIDE, 3):
            raise ValueError(f"medium features need ({SIDE}, {SIDE}, 3) crops, got {crop.shape}")
