"""Probe-pattern detection: one gate device sending many near-identical refused faces.

A decision-only attack on the matcher (HopSkipJump, other query-limited attacks) learns
only open / deny, so it sends one device many faces that are refused, each a small nudge of
the last: their embeddings are near-identical. People do not: another photo of the same
person, or of someone else, scores well below a re-encoded or noised copy of one image.
When ``count`` refused faces from one device within ``window_s`` are near-identical
(pairwise score ``>= near``) to the newest, the device's face channel is held for
``hold_s``: its faces are refused without being matched (card, PIN and code still work).

:data:`DEFAULT_PROBE_LIMITS` come from a measurement on the LFW dev subset through the shipped
SFace pipeline, people split by identity (seed 0): ``near`` set on the calibration half, trips
counted on the report half (``python -m facegate.audit.probe_calibration
../shared/data/lfw_deepfunneled_subset``, about 10 min on 2 cores; one JSON object):

* ``near = 0.6``: the first 0.05 step above the calibration half's same-person 99.9th
  percentile (158 people, 4,299 pairs of different photos: median 0.18, 99.9th pct 0.565,
  max 0.748, 2 pairs >= 0.6; different people, 19,883 pairs: max -0.04). Two probes of one
  photo (20 photos, 2 per kind) score: Gaussian noise σ 2/255 median 0.91 (min 0.60), σ 8/255
  0.70 (min 0.60); ±4/255 sign noise 0.82, ±16/255 0.54; 1–3 px shifts 0.80–0.85; JPEG
  50–95 1.0. 21 of 240 probe pairs fall below 0.6: this int8 SFace moves a lot under noise.
* ``count = 20`` within ``window_s = 600``: on the report half (159 people, 1,240 faces, every
  face fed as refused, 1 s apart) each person's photos in a row tripped 0 times, and one
  device fed all 1,240 in a random order tripped 0 times. Series of 20 probes of one photo
  (4 photos per kind) tripped 4/4 for noise σ 2 and 4, ±4 sign noise, shifts and JPEG; 2/4
  for σ 8 and ±8; 0/4 for ±16/255 (an attacker with larger nudges evades; n is small).
  The device face limit (60 a minute) lets an attacker send 20 in 20 s; HopSkipJump spends
  100+ queries, most of them tiny nudges of one point, on each gradient estimate.
* ``hold_s = 3600``: an hour of no faces at that device; cards and codes are untouched. The
  incident, not the hold, is the defence against a patient attacker: one who paces below
  the limit (``count − 1`` near-identical refusals per ``window_s``) is never held and gets
  about 2,700 queries a day (``facegate audit security`` reports the days an attack needs).

Not measured (no such data here): consecutive camera frames of one person standing still in
front of a gate are also near-identical. The kiosk sends a frame every 1.5 s and shows a
refusal for 3 s, so someone not enrolled who waits in front of the camera for several
minutes could trip it; that costs the device's face channel for ``hold_s``, never a card.

State lives in this process only (like the rate limits); several workers each count their
own share. Memory is bounded: ``MAX_DEVICES`` devices, ``MAX_FACES_PER_DEVICE`` faces each,
entries older than ``window_s`` (and holds past their end) are dropped.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from facegate.matching.score import score
from facegate.vision.sface import SFACE

#: Devices whose refused faces are remembered; the least recently seen is forgotten first.
MAX_DEVICES = 4096
#: Refused faces remembered per device (above ``count``: a window of them is compared).
MAX_FACES_PER_DEVICE = 256


@dataclass(frozen=True, slots=True)
class ProbeLimits:
    """When a device's refused faces count as probing.

    Attributes:
        window_s: the sliding window, seconds.
        near: two refused faces are near-identical when their score (``1 − euclidean
            distance`` of unit embeddings) is at least this; higher is stricter (fewer
            faces count, fewer false trips, easier to evade with larger nudges).
        count: this many near-identical refused faces (the newest included) within
            ``window_s`` trip the detector; higher is stricter.
        hold_s: how long the tripped device's face channel is held, seconds.
    """

    window_s: float
    near: float
    count: int
    hold_s: float

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"window_s: must be > 0, got {self.window_s}")
        if not -1.0 <= self.near <= 1.0:
            raise ValueError(f"near: a score in [-1, 1], got {self.near}")
        if not 2 <= self.count <= MAX_FACES_PER_DEVICE:
            raise ValueError(f"count: must be in [2, {MAX_FACES_PER_DEVICE}], got {self.count}")
        if not self.hold_s > 0:
            raise ValueError(f"hold_s: must be > 0, got {self.hold_s}")


#: Measured on the LFW dev subset (module docstring).
DEFAULT_PROBE_LIMITS = ProbeLimits(window_s=600.0, near=0.6, count=20, hold_s=3600.0)
#: The embedding models ``near`` was measured for. Another engine's scores spread
#: differently (dlib's same-person photos score far higher), so its faces are not watched
#: rather than watched with a limit that would hold devices for ordinary visitors.
PROBE_CALIBRATED_MODELS = frozenset({SFACE})


@dataclass(frozen=True, slots=True)
class ProbeVerdict:
    """The device's state after one observation.

    ``held``: its faces are refused now. ``tripped``: this observation started the hold
    (true once per hold, so one incident is recorded per trip).
    """

    held: bool
    tripped: bool = False
    #: How many near-identical refused faces (this one included) were in the window.
    near_count: int = 0


@dataclass(slots=True)
class _DeviceTrail:
    faces: deque[tuple[float, NDArray[np.float32]]] = field(
        default_factory=lambda: deque(maxlen=MAX_FACES_PER_DEVICE)
    )
    held_until: float | None = None


class ProbeDetector:
    """Watches each device's refused faces; holds a device that probes (module docstring).

    Thread-safe. ``clock`` is monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        limits: ProbeLimits = DEFAULT_PROBE_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._devices: OrderedDict[str, _DeviceTrail] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, device: str, embedding: NDArray[np.float32], refused: bool) -> ProbeVerdict:
        """Record one face decision of ``device`` (``embedding``: the face's unit
        embedding, shape ``(d,)``); a face that opened is not remembered.

        Raises:
            ValueError: ``embedding`` is not one finite vector.
        """
        vector = np.asarray(embedding, dtype=np.float32)
        if vector.ndim != 1 or vector.size == 0 or not np.all(np.isfinite(vector)):
            raise ValueError(f"embedding: one finite vector, got shape {vector.shape}")
        now = self._clock()
        with self._lock:
            trail = self._trail(device, now)
            if trail.held_until is not None:
                return ProbeVerdict(held=True)
            if not refused:
                return ProbeVerdict(held=False)
            trail.faces.append((now, vector))
            near = self._near_count(trail, vector)
            if near < self.limits.count:
                return ProbeVerdict(held=False, near_count=near)
            trail.held_until = now + self.limits.hold_s
            trail.faces.clear()
            return ProbeVerdict(held=True, tripped=True, near_count=near)

    def held(self, device: str) -> bool:
        """Whether ``device``'s face channel is held now."""
        now = self._clock()
        with self._lock:
            trail = self._devices.get(device)
            if trail is None:
                return False
            self._expire(trail, now)
            return trail.held_until is not None

    def _trail(self, device: str, now: float) -> _DeviceTrail:
        trail = self._devices.get(device)
        if trail is None:
            trail = _DeviceTrail()
            self._devices[device] = trail
            while len(self._devices) > MAX_DEVICES:
                self._devices.popitem(last=False)
        else:
            self._devices.move_to_end(device)
        self._expire(trail, now)
        return trail

    def _expire(self, trail: _DeviceTrail, now: float) -> None:
        if trail.held_until is not None and now >= trail.held_until:
            trail.held_until = None
        oldest = now - self.limits.window_s
        while trail.faces and trail.faces[0][0] < oldest:
            trail.faces.popleft()

    def _near_count(self, trail: _DeviceTrail, newest: NDArray[np.float32]) -> int:
        stacked = np.stack([face for _, face in trail.faces])
        scores = score(newest, stacked)[0]
        return int(np.count_nonzero(scores >= self.limits.near))
