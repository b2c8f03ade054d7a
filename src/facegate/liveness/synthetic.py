"""Presentation attacks synthesised from bona fide photos, to train and test passive PAD.

The only real attacks at hand are NUAA's prints, all taken with one webcam: a model trained
on them alone learns that camera (57% of other cameras' live faces called attacks). Here an
attack is made from a bona fide photo of *any* camera by simulating the two steps every
attack goes through, so the attack cues are the same whatever camera took the source:

1. **the medium** renders the photo: a print (halftone screens or photo paper, ink gamut,
   paper grain and tint, a white margin, fingers holding it) or a screen (a pixel grid of
   RGB sub-pixels, display gamma and gamut, backlight glare, a bezel);
2. **the recapture**: the medium is held in front of a camera, slightly tilted, over a
   background, defocused, with sensor noise and JPEG compression.

Bona fide photos get the same recapture step without a medium (:func:`recaptured_live`),
so "went through this module's camera" is not a cue that separates the classes.

Each function is deterministic given its ``rng``. The species names are the PAI species of
``facegate bench pad``'s leave-one-species-out report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

import cv2
import numpy as np
from numpy.typing import NDArray

from facegate.vision.image import RGBImage

Float = NDArray[np.float64]
Rng = np.random.Generator


class SyntheticSpecies(StrEnum):
    """Synthetic presentation-attack instrument species."""

    #: Laser/offset print: rotated CMYK halftone dot screens on matte paper.
    PRINT_HALFTONE = "synthetic_print_halftone"
    #: Inkjet or photo-lab print: continuous tone, paper grain, ink gamut, gloss.
    PRINT_PAPER = "synthetic_print_paper"
    #: A monitor or tablet: RGB stripe sub-pixels, display gamma, glare, bezel.
    REPLAY_SCREEN = "synthetic_replay_screen"
    #: A phone held close: fine pixel grid (strong moiré), bright backlight, thick bezel.
    REPLAY_PHONE = "synthetic_replay_phone"


#: Side (px) of the frame a recaptured attack is delivered in, like a kiosk webcam's.
CAPTURE_SIZE = (640, 480)


def synthesise(image: RGBImage, species: SyntheticSpecies, rng: Rng) -> RGBImage:
    """``image`` presented as ``species`` and recaptured by a camera."""
    media: dict[SyntheticSpecies, Callable[[Float, Rng], tuple[Float, Float]]] = {
        SyntheticSpecies.PRINT_HALFTONE: _halftone_print,
        SyntheticSpecies.PRINT_PAPER: _paper_print,
        SyntheticSpecies.REPLAY_SCREEN: _screen,
        SyntheticSpecies.REPLAY_PHONE: _phone,
    }
    rendered, frame_colour = media[species](_as_float(image), rng)
    return _recapture(rendered, frame_colour, rng, held=species.value.startswith("synthetic_print"))


def recaptured_live(image: RGBImage, rng: Rng) -> RGBImage:
    """A bona fide photo through the same camera model as the attacks, without a medium:
    white balance and exposure off, resolution lost and regained, defocus, sensor noise,
    JPEG. These vary between real cameras, so none of them may mark an attack."""
    rgb = _as_float(image)
    rgb = np.clip(rgb * rng.uniform(0.88, 1.12, 3), 0.0, 1.0)  # white balance
    rgb = _defocus(rgb, rng.uniform(0.0, 1.4))
    rgb = _exposure(rgb, rng)
    height, width = rgb.shape[:2]
    low = rng.uniform(0.35, 1.0)  # a cheaper sensor: fewer pixels, upscaled by the driver
    small = (max(16, round(width * low)), max(16, round(height * low)))
    rgb = np.asarray(cv2.resize(rgb, small, interpolation=cv2.INTER_AREA), dtype=np.float64)
    scale = rng.uniform(0.6, 1.4)
    size = (max(32, round(width * scale)), max(32, round(height * scale)))
    rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR), dtype=np.float64)
    return _sensor(rgb, rng)


# --- media ---------------------------------------------------------------------------------


def _halftone_print(rgb: Float, rng: Rng) -> tuple[Float, Float]:
    height, width = rgb.shape[:2]
    # Printers render at ~150 lines per inch; a face photo printed ~12 cm wide shows a few
    # hundred screen cells across, i.e. a cell every 2-5 source pixels.
    pitch = rng.uniform(1.3, 2.8)
    cmy = 1.0 - _gamut(rgb, saturation=rng.uniform(0.65, 0.9))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    inks = []
    for channel, angle in zip(range(3), (15.0, 75.0, 0.0), strict=True):
        theta = math.radians(angle + rng.uniform(-3, 3))
        u = xx * math.cos(theta) + yy * math.sin(theta)
        v = -xx * math.sin(theta) + yy * math.cos(theta)
        # Distance to the nearest dot centre; a dot covers its cell in proportion to the ink.
        du = (u / pitch) % 1.0 - 0.5
        dv = (v / pitch) % 1.0 - 0.5
        distance = np.hypot(du, dv)
        radius = np.sqrt(np.clip(cmy[..., channel], 0, 1) / math.pi)
        inks.append(np.clip((radius - distance) * pitch * 2.0 + 0.5, 0.0, 1.0))
    printed = 1.0 - np.stack(inks, axis=-1) * rng.uniform(0.8, 0.95)
    printed = printed * _paper_tint(rng) * _grain(rgb.shape[:2], rng, 0.03)
    return _with_margin(printed, rng, _paper_tint(rng))


def _paper_print(rgb: Float, rng: Rng) -> tuple[Float, Float]:
    printed = _gamut(rgb, saturation=rng.uniform(0.55, 0.85))
    printed = _gamma(printed, rng.uniform(0.75, 1.35))
    # Ink spreads on paper: a small blur, then the paper's fibre texture and tint.
    printed = _defocus(printed, rng.uniform(0.6, 1.6))
    printed = printed * _paper_tint(rng) * _grain(rgb.shape[:2], rng, rng.uniform(0.03, 0.07))
    printed = 0.08 + 0.86 * printed  # paper black is grey, paper white is not a light source
    if rng.random() < 0.5:
        printed = _gloss(printed, rng)
    return _with_margin(printed, rng, _paper_tint(rng))


def _screen(rgb: Float, rng: Rng) -> tuple[Float, Float]:
    shown = _display(rgb, rng, pitch=rng.uniform(2.5, 4.5))
    return shown, np.full(3, rng.uniform(0.02, 0.15))


def _phone(rgb: Float, rng: Rng) -> tuple[Float, Float]:
    # Half are high-density screens whose pixels no camera resolves (no moiré): only the
    # bezel, the fingers, the glare and the display's colour give them away.
    fine = rng.random() < 0.5
    shown = _display(rgb, rng, pitch=rng.uniform(0.5, 1.0) if fine else rng.uniform(1.6, 2.6))
    shown = np.clip(shown * rng.uniform(1.05, 1.3) + 0.04, 0.0, 1.0)  # bright backlight
    return shown, np.full(3, rng.uniform(0.0, 0.08))


def _display(rgb: Float, rng: Rng, pitch: float) -> Float:
    """A screen showing ``rgb``: the image resampled onto a grid of RGB stripe sub-pixels
    (``pitch`` source pixels per screen pixel), display gamma and gamut, black level, glare.
    The grid beats with the camera's sampling in the recapture: moiré."""
    height, width = rgb.shape[:2]
    shown = _gamma(_gamut(rgb, saturation=rng.uniform(0.9, 1.2)), rng.uniform(0.7, 1.0))
    shown = shown * np.array([rng.uniform(0.9, 1.0), rng.uniform(0.95, 1.0), rng.uniform(1.0, 1.1)])
    if pitch < 1.0:
        return _glare(np.clip(shown + rng.uniform(0.02, 0.07), 0.0, 1.0), rng)
    cols = max(8, round(width / pitch))
    rows = max(8, round(height / pitch))
    pixels = cv2.resize(shown, (cols, rows), interpolation=cv2.INTER_AREA)
    up = cv2.resize(pixels, (cols * 3, rows * 3), interpolation=cv2.INTER_NEAREST)
    stripes = np.zeros((3, 3, 3))
    for channel in range(3):
        stripes[:, channel, channel] = 1.0
    # How much the sub-pixel matrix shows: a camera rarely resolves it, the beat remains.
    gap = rng.uniform(0.15, 0.45)
    mask = np.tile(stripes * gap + (1.0 - gap) / 3.0, (rows, cols, 1))
    lit = np.asarray(up, dtype=np.float64) * mask * 3.0
    back = np.asarray(cv2.resize(lit, (width, height), interpolation=cv2.INTER_AREA))
    back = np.clip(back + rng.uniform(0.02, 0.07), 0.0, 1.0)
    return _glare(back, rng)


# --- shared media effects ----------------------------------------------------------------------


def _gamut(rgb: Float, saturation: float) -> Float:
    grey = rgb.mean(axis=2, keepdims=True)
    return np.asarray(np.clip(grey + (rgb - grey) * saturation, 0.0, 1.0), dtype=np.float64)


def _gamma(rgb: Float, gamma: float) -> Float:
    return np.asarray(np.clip(rgb, 0.0, 1.0) ** gamma, dtype=np.float64)


def _paper_tint(rng: Rng) -> Float:
    return np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.86, 0.98)]) * rng.uniform(0.88, 1.0)


def _grain(shape: tuple[int, ...], rng: Rng, strength: float) -> Float:
    height, width = shape[:2]
    fine = rng.normal(0.0, 1.0, (height, width))
    coarse = cv2.resize(rng.normal(0.0, 1.0, (height // 8 + 1, width // 8 + 1)), (width, height))
    texture = 1.0 + strength * (0.6 * fine + 0.8 * np.asarray(coarse))
    return np.asarray(texture[..., None], dtype=np.float64)


def _gloss(rgb: Float, rng: Rng) -> Float:
    """A soft specular band across a glossy print."""
    height, width = rgb.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    angle = rng.uniform(0, math.pi)
    offset = rng.uniform(-0.3, 0.3) * max(height, width)
    along = (xx - width / 2) * math.cos(angle) + (yy - height / 2) * math.sin(angle) - offset
    band = np.exp(-((along / (rng.uniform(0.05, 0.15) * max(height, width))) ** 2))
    return np.asarray(np.clip(rgb + rng.uniform(0.15, 0.4) * band[..., None], 0, 1))


def _glare(rgb: Float, rng: Rng) -> Float:
    height, width = rgb.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    spread = rng.uniform(0.2, 0.6) * max(height, width)
    spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * spread**2))
    return np.asarray(np.clip(rgb + rng.uniform(0.05, 0.3) * spot[..., None], 0, 1))


def _with_margin(printed: Float, rng: Rng, paper: Float) -> tuple[Float, Float]:
    """A print has a white margin of the paper around the picture."""
    height, width = printed.shape[:2]
    margin = round(rng.uniform(0.0, 0.12) * max(height, width))
    if margin == 0:
        return printed, paper * 0.95
    sheet = np.ones((height + 2 * margin, width + 2 * margin, 3)) * paper * 0.95
    sheet = sheet * _grain(sheet.shape, rng, 0.02)
    sheet[margin : margin + height, margin : margin + width] = printed
    return sheet, paper * 0.95


# --- recapture -------------------------------------------------------------------------------


def _recapture(medium: Float, frame_colour: Float, rng: Rng, *, held: bool) -> RGBImage:
    """The medium held in front of a camera: framed (bezel or hands), tilted, over a
    background, defocused, exposed, noisy, JPEG-compressed."""
    out_w, out_h = CAPTURE_SIZE
    border = round(rng.uniform(0.02, 0.08) * max(medium.shape[:2]))
    framed = cv2.copyMakeBorder(
        medium, border, border, border, border, cv2.BORDER_CONSTANT, value=frame_colour.tolist()
    )
    framed = np.asarray(framed, dtype=np.float64)
    height, width = framed.shape[:2]
    # How much of the frame the medium fills: from a sheet seen whole to a close-up whose
    # edges are out of view.
    fill = rng.uniform(0.7, 1.5)
    scale = fill * min(out_w / width, out_h / height)
    tilt = 0.08 * max(width, height)
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    jitter = rng.uniform(-tilt, tilt, (4, 2)).astype(np.float32)
    target = (source + jitter) * scale
    target += np.array(
        [
            (out_w - width * scale) / 2 + rng.uniform(-0.1, 0.1) * out_w,
            (out_h - height * scale) / 2 + rng.uniform(-0.1, 0.1) * out_h,
        ],
        dtype=np.float32,
    )
    warp = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    scene = _background((out_h, out_w), rng)
    warped = cv2.warpPerspective(framed, warp, (out_w, out_h), flags=cv2.INTER_LINEAR)
    coverage = cv2.warpPerspective(
        np.ones((height, width), dtype=np.float64), warp, (out_w, out_h), flags=cv2.INTER_LINEAR
    )
    alpha = np.asarray(coverage, dtype=np.float64)[..., None]
    frame = alpha * np.asarray(warped) + (1.0 - alpha) * scene
    if held and rng.random() < 0.6:
        frame = _fingers(frame, target, rng)
    frame = _defocus(frame, rng.uniform(0.3, 1.5))
    frame = _exposure(frame, rng)
    return _sensor(frame, rng)


def _background(shape: tuple[int, int], rng: Rng) -> Float:
    height, width = shape
    base = rng.uniform(0.2, 0.8, 3)
    gradient = np.linspace(1.0 - rng.uniform(0, 0.3), 1.0, height)[:, None, None]
    coarse = cv2.resize(
        rng.uniform(-0.1, 0.1, (height // 60 + 2, width // 60 + 2)), (width, height)
    )
    return np.asarray(np.clip(base * gradient + np.asarray(coarse)[..., None], 0, 1))


def _fingers(frame: Float, corners: NDArray[np.float32], rng: Rng) -> Float:
    """One or two thumbs over the medium's edge, in a skin tone."""
    out = frame.copy()
    skin: Float = np.array([0.85, 0.62, 0.5]) * rng.uniform(0.6, 1.05)
    for _ in range(int(rng.integers(1, 3))):
        edge = int(rng.integers(0, 4))
        a, b = corners[edge], corners[(edge + 1) % 4]
        t = rng.uniform(0.2, 0.8)
        centre = (float(a[0] + t * (b[0] - a[0])), float(a[1] + t * (b[1] - a[1])))
        axes = (int(rng.uniform(18, 40)), int(rng.uniform(30, 60)))
        mask = np.zeros(frame.shape[:2], dtype=np.float64)
        cv2.ellipse(
            mask, (round(centre[0]), round(centre[1])), axes, rng.uniform(0, 180), 0, 360, 1.0, -1
        )
        soft = np.asarray(cv2.GaussianBlur(mask, (0, 0), 2.0), dtype=np.float64)[..., None]
        shade: Float = skin * (0.85 + 0.15 * rng.random())
        out = out * (1 - soft) + shade * soft
    return out


def _defocus(rgb: Float, sigma: float) -> Float:
    if sigma < 0.3:
        return rgb
    return np.asarray(cv2.GaussianBlur(rgb, (0, 0), sigma), dtype=np.float64)


def _exposure(rgb: Float, rng: Rng) -> Float:
    gain = rng.uniform(0.8, 1.2)
    gamma = rng.uniform(0.85, 1.15)
    return np.asarray(np.clip(rgb * gain, 0.0, 1.0) ** gamma, dtype=np.float64)


def _sensor(rgb: Float, rng: Rng) -> RGBImage:
    noisy = rgb + rng.normal(0.0, rng.uniform(0.003, 0.025), rgb.shape)
    image = np.clip(np.rint(noisy * 255.0), 0, 255).astype(np.uint8)
    quality = int(rng.integers(55, 96))
    ok, encoded = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:  # pragma: no cover - OpenCV decodes what it encoded
        raise RuntimeError("JPEG decoding failed")
    return np.ascontiguousarray(decoded[..., ::-1])


def _as_float(image: RGBImage) -> Float:
    return image.astype(np.float64) / 255.0
