"""The medium's statistics and whitened spectra: shapes, and that they see what they claim."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facegate.fixtures import astronaut
from facegate.liveness import medium


def _crops() -> tuple[np.ndarray, np.ndarray]:
    image = astronaut()
    face = np.asarray(Image.fromarray(image[60:180, 170:290]).resize((128, 128)))
    context = np.asarray(Image.fromarray(image[0:360, 50:410]).resize((128, 128)))
    return face, context


def test_lengths_are_the_documented_ones_and_values_finite() -> None:
    face, context = _crops()
    stats = medium.statistics(face, context)
    spectrum = medium.whitened_spectrum(face, context)
    assert stats.shape == (medium.STATISTICS_LENGTH,)
    assert spectrum.shape == (medium.SPECTRUM_LENGTH,)
    assert np.all(np.isfinite(stats))
    assert np.all(np.isfinite(spectrum))


def test_a_lifted_black_level_shows_in_the_dynamic_range() -> None:
    """Paper's black is grey: the same face printed has a narrower luminance spread."""
    face, context = _crops()
    printed = (40 + face.astype(np.float64) * 0.7).astype(np.uint8)
    spread = 7  # after the 7 percentiles comes their spread
    assert medium.statistics(printed, context)[spread] < medium.statistics(face, context)[spread]


def test_a_pixel_grid_stands_out_of_the_whitened_spectrum() -> None:
    face, context = _crops()
    grid = face.astype(np.float64)
    grid[:, ::3] *= 0.6  # a stripe every 3 px, as a screen's sub-pixels
    plain = medium.whitened_spectrum(face, context)
    striped = medium.whitened_spectrum(grid.astype(np.uint8), context)
    peaks = slice(medium.PROFILE_BINS + 1, medium.SPECTRUM_LENGTH // 2)
    assert striped[peaks].max() > plain[peaks].max() + 1.0


def test_crops_of_another_size_are_refused() -> None:
    face, context = _crops()
    with pytest.raises(ValueError, match="128"):
        medium.statistics(face[:64, :64], context)
