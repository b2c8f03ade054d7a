"""The liveness hook of the gate decision: is the face in front of the camera a live person?

The decision engine asks a :class:`LivenessCheck` before it matches a face. The default,
:class:`NotEvaluated`, accepts every frame and says so (``reason="not_evaluated"``), so the
audit log shows that no liveness was measured; the liveness issue replaces it. A failed
check answers ``try_another`` with reason ``liveness_failed``: the person uses a card, PIN
or one-time code instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from facegate.store.records import LivenessLevel
from facegate.vision.image import RGBImage

#: The reason the default hook reports: nothing was measured.
NOT_EVALUATED = "not_evaluated"


@dataclass(frozen=True, slots=True)
class LivenessResult:
    """Whether the frame passed, and a short stable reason code for the audit log."""

    passed: bool
    reason: str


class LivenessCheck(Protocol):
    """One frame ``(H, W, 3)`` uint8 RGB and the gate's required level → a result."""

    def check(self, image: RGBImage, gate_liveness_level: LivenessLevel) -> LivenessResult: ...


class NotEvaluated:
    """Accepts every frame and reports that liveness was not evaluated."""

    def check(self, image: RGBImage, gate_liveness_level: LivenessLevel) -> LivenessResult:
        return LivenessResult(passed=True, reason=NOT_EVALUATED)
