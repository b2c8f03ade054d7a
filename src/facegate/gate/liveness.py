"""Liveness in the gate decision: is the face in front of the camera a live person?

Every face decision at a gate passes the passive check (:mod:`facegate.liveness.passive`)
on the frame it matches (only an operator's offline photo check may skip it, see
:class:`~facegate.gate.request.LivenessDemand`). A gate whose level is ``passive_active``
also demands a challenge: the first frame that passes gets ``try_another`` /
``challenge_required`` with a random order of movements bound to a single-use nonce
(:mod:`facegate.liveness.challenge`); the device then sends a short sequence doing them,
checked by :mod:`facegate.liveness.active` (order, identity throughout, non-planar motion).
A failure never locks anyone out: the answer is ``try_another`` with the gate's non-face
credentials. Outcome codes, never images or scores, go to the audit log.

Defences against face swaps and replays (:class:`Defences`, on by default;
``facegate bench attacks`` measures each kind of attack with them and without): a frame
whose face looks pasted in is refused at the passive check (``passive_swap_boundary``), an
answer most of whose frames do is refused (``active_swap_boundary``), and an answer whose
frames are those of an answer seen in the last hour is refused (``active_replayed``; only
64-bit hashes of the face crops are kept, in memory, never an image).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from facegate.liveness.active import ActiveReason, check_faces, check_input, frame_subject
from facegate.liveness.challenge import Challenge
from facegate.liveness.consistency import (
    REPLAY_MEMORY_S,
    AnswerMemory,
    SwapLimits,
    blended,
    face_hash,
)
from facegate.liveness.passive import PassiveDetector
from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline
from facegate.vision.record import Box, Face

#: Audit code of a sequence whose every check passed.
ACTIVE_OK = "active_ok"
#: Audit code of a frame that passed the PAD model but whose face looks pasted in.
PASSIVE_SWAP_BOUNDARY = "passive_swap_boundary"


@dataclass(frozen=True, slots=True)
class Defences:
    """The checks added against face swaps and replays (``None`` / False: off).

    Attributes:
        swap: the blending-boundary thresholds, for the passive frame and every frame of
            a challenge answer.
        replay_memory_s: how long a challenge answer's frame hashes are remembered.
        passive_every_frame: run the PAD model on every challenge frame, not only on the
            frame that is matched. Off: in ``facegate bench attacks`` (43 LFW victims) it
            stopped 4 of the 5 face-swap answers that opened the gate, but also 11 of the
            13 genuine answers that did (the PAD model calls most turned press photos
            attacks), at ~0.2 s per frame.
    """

    swap: SwapLimits | None = field(default_factory=SwapLimits)
    replay_memory_s: float | None = REPLAY_MEMORY_S
    passive_every_frame: bool = False

    @classmethod
    def off(cls) -> Defences:
        """The gate as it was before these defences (for benchmarks)."""
        return cls(swap=None, replay_memory_s=None, passive_every_frame=False)


@dataclass(frozen=True, slots=True)
class LivenessResult:
    """Whether the presentation passed, and a short stable reason code for the audit log.

    ``observed``: the movements seen in a challenge answer (e.g. ``"L,R,C"``), for the audit.
    """

    passed: bool
    reason: str
    observed: str = ""


@dataclass(frozen=True, slots=True)
class ChallengeAnswer:
    """The active check's result and, when it could be found, the baseline frame's face."""

    result: LivenessResult
    baseline: Face | None


class LivenessCheck(Protocol):
    """The two checks the face decider asks for."""

    def passive(self, image: RGBImage, box: Box) -> LivenessResult: ...

    def active(
        self,
        frames: Sequence[RGBImage],
        steps: Sequence[Challenge],
        pipeline: FacePipeline,
        identity_threshold: float,
    ) -> ChallengeAnswer: ...


class GateLiveness:
    """The shipped checks: the registry's PAD model (loaded on first use) and the active
    sequence check. Thread-safe; :meth:`active` runs on a pipeline the caller borrowed.

    ``load_detector`` builds the PAD classifier (default ``PassiveDetector(registry)``);
    the runtime passes one that records a refused model file as an incident.
    ``defences``: the swap and replay checks (:class:`Defences`).
    """

    def __init__(
        self,
        registry: ModelRegistry,
        load_detector: Callable[[], PassiveDetector] | None = None,
        defences: Defences | None = None,
    ) -> None:
        self._registry = registry
        self._load_detector = load_detector or (lambda: PassiveDetector(registry))
        self._detector: PassiveDetector | None = None
        self._lock = threading.Lock()
        self.defences = defences or Defences()
        memory_s = self.defences.replay_memory_s
        self._memory = AnswerMemory(memory_s) if memory_s is not None else None

    @property
    def detector(self) -> PassiveDetector:
        with self._lock:
            if self._detector is None:
                self._detector = self._load_detector()
            return self._detector

    def passive(self, image: RGBImage, box: Box) -> LivenessResult:
        checked = self.detector.check(image, box)
        swap = self.defences.swap
        if checked.passed and swap is not None and blended(image, box, swap):
            return LivenessResult(False, PASSIVE_SWAP_BOUNDARY)
        return LivenessResult(checked.passed, checked.reason.value)

    def active(
        self,
        frames: Sequence[RGBImage],
        steps: Sequence[Challenge],
        pipeline: FacePipeline,
        identity_threshold: float,
    ) -> ChallengeAnswer:
        # Counts and sizes first: a malformed answer costs no face search.
        invalid = check_input(frames, steps)
        if invalid is not None:
            return ChallengeAnswer(_refused(invalid.reason, ""), None)
        faces: list[Face] = []
        for index, frame in enumerate(frames):
            found = frame_subject(frame, pipeline)
            if isinstance(found, ActiveReason):
                return ChallengeAnswer(_refused(found, f"frame {index}"), None)
            faces.append(found)
        return ChallengeAnswer(
            self.check_answer(frames, faces, steps, identity_threshold), faces[0]
        )

    def check_answer(
        self,
        frames: Sequence[RGBImage],
        faces: Sequence[Face],
        steps: Sequence[Challenge],
        identity_threshold: float,
    ) -> LivenessResult:
        """:meth:`active` once every frame's face was found (``faces[i]`` is ``frames[i]``'s
        subject, with landmarks and embedding); for benchmarks that reuse the faces.

        Order: the active check (:func:`~facegate.liveness.active.check_faces`), then the
        swap check on every frame, the replay memory (which remembers every answer that
        got this far, passed or not: a refused answer replayed to the order it did follow
        would pass), then the PAD model on the frames after the baseline.
        """
        checked = check_faces(frames, faces, steps, identity_threshold=identity_threshold)
        observed = checked.observed
        remembered = self._memory is not None and self._memory.check_and_remember(
            [face_hash(frame, face.box) for frame, face in zip(frames, faces, strict=True)]
        )
        if not checked.passed:
            return _refused(checked.reason, observed)
        swap = self.defences.swap
        if swap is not None:
            pasted = sum(blended(f, face.box, swap) for f, face in zip(frames, faces, strict=True))
            if pasted >= swap.frame_fraction * len(frames):
                return _refused(ActiveReason.SWAP_BOUNDARY, observed)
        if remembered:
            return _refused(ActiveReason.REPLAYED, observed)
        if self.defences.passive_every_frame:
            detector = self.detector
            for frame, face in zip(frames[1:], faces[1:], strict=True):
                if not detector.check(frame, face.box).passed:
                    return _refused(ActiveReason.FRAME_ATTACK, observed)
        return LivenessResult(True, ACTIVE_OK, observed)


def _refused(reason: ActiveReason, observed: str) -> LivenessResult:
    return LivenessResult(False, f"active_{reason.value}", observed)
