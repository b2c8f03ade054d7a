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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from facegate.liveness.active import ActiveReason, check_faces, check_input, frame_subject
from facegate.liveness.challenge import Challenge
from facegate.liveness.passive import PassiveDetector
from facegate.models.registry import ModelRegistry
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline
from facegate.vision.record import Box, Face

#: Audit code of a sequence whose every check passed.
ACTIVE_OK = "active_ok"


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
    """

    def __init__(
        self,
        registry: ModelRegistry,
        load_detector: Callable[[], PassiveDetector] | None = None,
    ) -> None:
        self._registry = registry
        self._load_detector = load_detector or (lambda: PassiveDetector(registry))
        self._detector: PassiveDetector | None = None
        self._lock = threading.Lock()

    @property
    def detector(self) -> PassiveDetector:
        with self._lock:
            if self._detector is None:
                self._detector = self._load_detector()
            return self._detector

    def passive(self, image: RGBImage, box: Box) -> LivenessResult:
        checked = self.detector.check(image, box)
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
        checked = check_faces(frames, faces, steps, identity_threshold=identity_threshold)
        if not checked.passed:
            return ChallengeAnswer(_refused(checked.reason, checked.observed), faces[0])
        return ChallengeAnswer(LivenessResult(True, ACTIVE_OK, checked.observed), faces[0])


def _refused(reason: ActiveReason, observed: str) -> LivenessResult:
    return LivenessResult(False, f"active_{reason.value}", observed)
