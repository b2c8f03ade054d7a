"""What a gate device is answered: one presented credential → open, deny or try another.

:func:`decide_credential` for card, PIN and one-time code (the store decides and audits);
a face is decided by :class:`facegate.gate.FaceDecider` (quality → liveness → match, one
``decision.identify`` or ``decision.verify`` event) and answered by :func:`face_answer`.
A :class:`GateDecision` holds no score, no template and no name; ``subject_id`` stays on
the server (metrics, logs) and is never put in a response.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from facegate.gate import FaceDecision
from facegate.gate.outcome import FailedCheck
from facegate.gate.request import device_actor
from facegate.liveness.challenge import ChallengeTicket
from facegate.store import Store
from facegate.store.accounts import DeviceInfo
from facegate.store.records import CredentialKind, GateInfo, GateOutcome


class DecisionKind(StrEnum):
    """What a device presents: a face, or one of the non-face credentials."""

    FACE = "face"
    CARD = "card"
    PIN = "pin"
    OTP = "otp"


class Prompt(StrEnum):
    """A request to the person at the gate, shown by the kiosk."""

    #: Opened with an older engine's templates: enroll again with the current engine.
    REENROLL = "reenroll"


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The answer to one presentation at a gate. ``subject_id`` is set only when it opens
    and is for the server's own use (it is not part of the device's response)."""

    kind: DecisionKind
    outcome: GateOutcome
    reason: str
    decision_id: int
    alternatives: tuple[CredentialKind, ...]
    subject_id: str | None = None
    challenge: ChallengeTicket | None = None
    retry_after: int | None = None
    #: What the person at the gate is asked to do next (``reenroll``), if anything.
    prompt: Prompt | None = None
    #: With reason ``liveness_failed``: which check refused the face (never a score).
    check: FailedCheck | None = None


def alternatives(gate: GateInfo) -> tuple[CredentialKind, ...]:
    """The non-face credentials ``gate`` accepts; never empty (R-10)."""
    return tuple(kind for kind in CredentialKind if gate.accepts(kind))


def decide_credential(
    store: Store,
    device: DeviceInfo,
    gate: GateInfo,
    kind: DecisionKind,
    secret: str,
    subject_id: str | None,
    resident_number: str | None = None,
) -> GateDecision:
    """A card, PIN or one-time code at ``gate``; the store decides and audits it.

    Raises ``InvalidRecordError`` (422) for a malformed secret or a PIN without a subject.
    """
    if kind is DecisionKind.FACE:
        raise ValueError("kind: a face is decided by facegate.gate.FaceDecider")
    decision = store.credentials.check(
        device.site_code,
        gate.code,
        CredentialKind(kind.value),
        secret,
        subject_id=subject_id,
        resident_number=resident_number,
        actor=device_actor(device),
        device=device.id,
    )
    return GateDecision(
        kind=kind,
        outcome=decision.outcome,
        reason=decision.reason.value,
        decision_id=decision.audit_event_id,
        alternatives=alternatives(gate),
        subject_id=decision.subject_id,
        retry_after=decision.retry_after_s,
    )


def face_answer(decision: FaceDecision, gate: GateInfo) -> GateDecision:
    """The device's answer to a face decision at ``gate``."""
    return GateDecision(
        kind=DecisionKind.FACE,
        outcome=decision.outcome,
        reason=decision.reason.value,
        decision_id=decision.audit_event_id,
        alternatives=alternatives(gate),
        subject_id=decision.subject_id,
        challenge=decision.challenge,
        prompt=Prompt.REENROLL if decision.reenroll else None,
        check=decision.failed_check,
    )
