"""Gate device bodies: a decision and a kiosk self-enrollment (responses only; the requests
are multipart forms). Nothing here carries a score, a template or a name."""

from __future__ import annotations

from pydantic import BaseModel, Field

from facegate.gate.outcome import FailedCheck
from facegate.liveness.challenge import Challenge
from facegate.store.records import CredentialKind, GateOutcome


class ChallengeOut(BaseModel):
    """Movements to do, in this order, and send back as frames with the nonce."""

    nonce: str
    steps: list[Challenge]
    expires_in: int = Field(description="whole seconds left to answer")


class DecisionOut(BaseModel):
    """What the gate does, why (a stable reason code), and which other ways in it takes."""

    outcome: GateOutcome
    reason: str = Field(description="stable reason code, e.g. ok, no_face, wrong_pin, used")
    decision_id: int = Field(description="the audit event that records this decision")
    alternatives: list[CredentialKind] = Field(
        description="the non-face credentials this gate accepts (never empty)"
    )
    challenge: ChallengeOut | None = Field(
        default=None, description="set with reason challenge_required"
    )
    check: FailedCheck | None = Field(
        default=None,
        description="set with reason liveness_failed: which check refused the face, passive "
        "(the one-frame presentation-attack check), active (the challenge's movements) or "
        "challenge (its nonce: too late, already used, or another device's); a code, never a "
        "score",
    )
    prompt: str | None = Field(
        default=None,
        description="with an open gate: reenroll when the person was matched with an older "
        "engine's templates and should enroll again",
    )
    retry_after: int | None = Field(
        default=None,
        description="with reason too_many_tries: seconds before this PIN pad or resident "
        "number may try again",
    )


class KioskEnrollmentOut(BaseModel):
    """A resident enrolled their face at the kiosk."""

    enrolled: int
    subject_id: str
