"""Defences against face swaps and replayed answers, cheap enough for every gate frame.

**Blending boundary** (:func:`boundary_cues`, :func:`blended`). A face-swap tool pastes a
face taken from another picture into the face oval and blends it in (Poisson seamless
cloning, or a learnt blender). Whatever the blender does to the colours, the pasted pixels
keep the fine structure of the picture they came from: its resolution (a face generated or
copied at ~100-250 px and scaled to the head), and its noise, which is not the camera's.
The check compares the face's centre with a ring round the head, on the same camera frame:

- ``detail``: the log ratio of the finest detail (residual under a 0.8 px Gaussian) to the
  next band (0.8-2 px), inside minus outside. The same optics and focus give the same ratio
  on a live head; a face resampled from a smaller picture lacks its finest band.
- ``noise``: the log ratio of the noise floor (a low percentile of the local median
  residual, clipped pixels left out) inside to outside. One sensor gives one noise floor;
  a pasted face brings another.

Both are negative when the face is smoother than its surroundings. Each threshold was set
on genuine development frames at a stated false-refusal rate (see the constants) and never
on the frames the benchmark reports. Retouched or beauty-filtered faces read as pasted in
too: the thresholds are set low enough for deepface's red-carpet photos, which costs
catches. The oval comes from the detector's box, so the check
needs no landmarks (the passive path has only the box).

**Replayed answers** (:class:`AnswerMemory`). A challenge answer's frames, sent again (to a
new nonce whose order happens to match: 1 in 12), are refused while the memory holds a
64-bit perceptual hash of each of the earlier answer's face crops. Only the hashes and a
time are kept, for :data:`REPLAY_MEMORY_S`; never an image.

What neither catches: a swap re-rendered at the camera's resolution with matching noise
(or re-filmed through a screen, which the passive PAD check is for), a blend reaching past
the outer ring, and a replay recorded elsewhere than this gate or older than the memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from facegate.vision.image import RGBImage
from facegate.vision.record import Box

#: The face oval relative to the detector's (YuNet) box, in box widths: centre below the
#: box centre, half-width, half-height. Medians over 240 genuine frames (120 NUAA live,
#: 120 LFW photos on the canvas) of the oval :func:`facegate.liveness.swap.oval` draws from
#: the 5 landmarks: 0.064, 0.54, 0.68 (p10-p90: 0.02-0.11, 0.49-0.59, 0.61-0.74).
OVAL_DROP = 0.064
OVAL_HALF_WIDTH = 0.54
OVAL_HALF_HEIGHT = 0.68
#: The inner region (the face's centre) as a fraction of the oval: well inside any blend.
INNER_SCALE = 0.85
#: The outer ring, in oval scales: outside a swap tool's blend (which follows the face's
#: own outline, oval scale ~1 to 1.2), still on the head, hair and nearby background.
OUTER_RING = (1.3, 1.7)
#: The finest band: residual under a Gaussian of this sigma, pixels.
FINE_SIGMA = 0.8
#: The next band: between the fine and this sigma, pixels.
MID_SIGMA = 2.0
#: Side of the box that averages the band energies and the noise residual, pixels.
LOCAL_PX = 7
#: The noise floor is this percentile of the local noise in each region: flat skin, wall.
NOISE_PERCENTILE = 10
#: Grey levels at or beyond these are clipped (saturated wall, black hair): no noise shows.
CLIP_LOW = 8
CLIP_HIGH = 247
#: Added to energies before the log, grey levels: keeps a flat grey background finite.
EPSILON = 0.05
#: The threshold of ``detail``: a frame at or below it is blended. Set at a 0.5% per-cue
#: false-refusal rate on 612 genuine frames as the kiosk encodes them: NUAA live and LFW
#: photos on the canvas of the development split, and all of deepface's red-carpet photos
#: (``facegate bench attacks ../shared/data/lfw_deepfunneled_subset --calibrate --deepface
#: ../shared/data/deepface_unit_testset``; either cue refuses 6 of the 612). Deepface sets
#: it: make-up framed by long hair reads smoother than its ring (its p5 -0.54, NUAA's
#: -0.18, LFW's -0.25); set on NUAA and LFW alone (-0.35), 11 of 36 deepface photos of
#: people left out were refused.
DETAIL_THRESHOLD = -0.515
#: The threshold of ``noise`` (same calibration; deepface's p5 -0.94, NUAA's 0.00).
NOISE_THRESHOLD = -0.897
#: A challenge answer is refused as a swap when at least this fraction of its frames are
#: blended: a swap tool blends every frame, while a genuine frame's chance of crossing a
#: threshold (≤ 1%) is rarely repeated within one answer.
SWAP_FRAME_FRACTION = 0.5

#: How long an answer's frame hashes are remembered, seconds. Drawing the same order again
#: takes 12 tries on average, each a challenge and an answer (a device may ask 60 faces a
#: minute, ``api/ratelimit.py``): minutes. An hour covers that many times over; a replay
#: sent later than that is not caught (the random order still stops 11 in 12 tries).
REPLAY_MEMORY_S = 3600.0
#: Most answers remembered (oldest dropped first): a busy gate's hour.
REPLAY_MEMORY_ANSWERS = 4096
#: Two face crops are the same picture when their 64-bit hashes differ in at most this
#: many bits. A NUAA live frame re-encoded at JPEG quality 75 and re-detected differs by
#: at most 6 (p99 4.4, 180 development frames); two frames of one NUAA session, a person
#: keeping still, by 12 at the median but 2 or fewer for 5% of pairs, so a still person's
#: frames can collide: hence all frames, in order (:func:`replays`). ``facegate bench
#: attacks --calibrate`` prints both distributions.
HASH_MAX_BITS = 6
#: Side of the grey face crop the hash is computed on (DCT), pixels.
HASH_CROP_PX = 32


@dataclass(frozen=True, slots=True)
class BoundaryCues:
    """The two cues of one face (log ratios, inside minus outside; negative: smoother)."""

    detail: float
    noise: float


@dataclass(frozen=True, slots=True)
class SwapLimits:
    """The blending-boundary thresholds; each field's meaning is its module constant's."""

    detail_threshold: float = DETAIL_THRESHOLD
    noise_threshold: float = NOISE_THRESHOLD
    frame_fraction: float = SWAP_FRAME_FRACTION

    def __post_init__(self) -> None:
        if not 0 < self.frame_fraction <= 1:
            raise ValueError(f"frame_fraction must be in (0, 1], got {self.frame_fraction}")


def box_oval(box: Box, scale: float = 1.0) -> tuple[tuple[float, float], float, float]:
    """The face oval of a detector box: centre, half-width, half-height, in pixels."""
    cx, cy = box.center
    width = box.width
    return (
        (cx, cy + OVAL_DROP * width),
        scale * OVAL_HALF_WIDTH * width,
        scale * OVAL_HALF_HEIGHT * width,
    )


def boundary_cues(image: RGBImage, box: Box) -> BoundaryCues | None:
    """The cues of the face in ``box``, or None where too little of the ring lies in the
    image (a face at the frame's edge: nothing to compare with, so nothing is refused)."""
    (cx, cy), half_w, half_h = box_oval(box, OUTER_RING[1])
    height, width = image.shape[:2]
    pad = 3 * LOCAL_PX
    x0, y0 = max(0, int(cx - half_w) - pad), max(0, int(cy - half_h) - pad)
    x1, y1 = min(width, int(cx + half_w) + pad + 1), min(height, int(cy + half_h) + pad + 1)
    if x1 - x0 < 4 * LOCAL_PX or y1 - y0 < 4 * LOCAL_PX:
        return None
    grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    g = grey.astype(np.float32)
    fine = cv2.GaussianBlur(g, (0, 0), FINE_SIGMA)
    mid = cv2.GaussianBlur(g, (0, 0), MID_SIGMA)
    window = (LOCAL_PX, LOCAL_PX)
    fine_energy = cv2.blur(np.abs(g - fine), window)
    mid_energy = cv2.blur(np.abs(fine - mid), window)
    noise = cv2.blur(np.abs(g - cv2.medianBlur(grey, 3).astype(np.float32)), window)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    (ox, oy), ow, oh = box_oval(box)
    radius = np.sqrt(((xs - ox) / ow) ** 2 + ((ys - oy) / oh) ** 2)
    unclipped = (grey > CLIP_LOW) & (grey < CLIP_HIGH)
    inner = (radius <= INNER_SCALE) & unclipped
    outer = (radius >= OUTER_RING[0]) & (radius <= OUTER_RING[1]) & unclipped
    if inner.sum() < LOCAL_PX**2 or outer.sum() < LOCAL_PX**2:
        return None

    def detail_of(region: NDArray[np.bool_]) -> float:
        return math.log(float(fine_energy[region].mean()) + EPSILON) - math.log(
            float(mid_energy[region].mean()) + EPSILON
        )

    def floor_of(region: NDArray[np.bool_]) -> float:
        return math.log(float(np.percentile(noise[region], NOISE_PERCENTILE)) + EPSILON)

    return BoundaryCues(
        detail=detail_of(inner) - detail_of(outer),
        noise=floor_of(inner) - floor_of(outer),
    )


def blended(image: RGBImage, box: Box, limits: SwapLimits = SwapLimits()) -> bool:
    """Whether the face in ``box`` looks pasted in: either cue at or below its threshold."""
    cues = boundary_cues(image, box)
    if cues is None:
        return False
    return cues.detail <= limits.detail_threshold or cues.noise <= limits.noise_threshold


def face_hash(image: RGBImage, box: Box) -> int:
    """A 64-bit perceptual hash of the face crop (DCT of a 32×32 grey crop; each bit: is
    one of the 8×8 lowest frequencies above their median)."""
    height, width = image.shape[:2]
    x0, y0 = max(0, int(box.x1)), max(0, int(box.y1))
    x1, y1 = min(width, math.ceil(box.x2)), min(height, math.ceil(box.y2))
    if x1 <= x0 or y1 <= y0:
        return 0
    grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (HASH_CROP_PX, HASH_CROP_PX), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small.astype(np.float32))[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(sum(1 << i for i, bit in enumerate(bits) if bit))


def hash_distance(a: int, b: int) -> int:
    """Bits in which two hashes differ."""
    return (a ^ b).bit_count()


def replays(answer: Sequence[int], earlier: Sequence[int], max_bits: int = HASH_MAX_BITS) -> bool:
    """Whether ``answer`` (frame hashes, in order) shows the pictures of ``earlier``: as
    many frames, each within ``max_bits`` of the earlier frame at its place. In order and
    all of them: a person answering again moves through other poses at other moments, and
    a replay is the same pictures in the same order."""
    if not answer or len(answer) != len(earlier):
        return False
    return all(hash_distance(h, e) <= max_bits for h, e in zip(answer, earlier, strict=True))


class AnswerMemory:
    """The frame hashes of recent challenge answers, nothing else; thread-safe.

    Args:
        ttl_s: how long an answer is remembered.
        capacity: most answers remembered (the oldest is dropped first).
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        ttl_s: float = REPLAY_MEMORY_S,
        capacity: int = REPLAY_MEMORY_ANSWERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not ttl_s > 0 or capacity < 1:
            raise ValueError("ttl_s must be positive and capacity at least 1")
        self.ttl_s = ttl_s
        self._clock = clock
        self._answers: deque[tuple[float, tuple[int, ...]]] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._answers)

    def check_and_remember(self, hashes: Sequence[int]) -> bool:
        """True when ``hashes`` replay a remembered answer; remembers them either way."""
        now = self._clock()
        answer = tuple(hashes)
        with self._lock:
            self._expire(now)
            seen = any(replays(answer, earlier) for _, earlier in self._answers)
            self._answers.append((now, answer))
        return seen

    def _expire(self, now: float) -> None:
        while self._answers and now - self._answers[0][0] > self.ttl_s:
            self._answers.popleft()
