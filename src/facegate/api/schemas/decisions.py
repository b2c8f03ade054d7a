"""Gate decisions: a device's decision and kiosk self-enrollment (responses only; the requests
are multipart forms), and the access log the console reads. Nothing here carries a score or
a template; only the console's log carries names."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from facegate.gate.outcome import FailedCheck
from facegate.liveness.challenge import Challenge
from facegate.store.decision_log import LoggedDecision, PersonState, RemoteReason
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


class LoggedDecisionOut(BaseModel):
    """One row of the access log for a manager: names, not ids; never a score."""

    id: int = Field(description="the audit event that records it")
    at: datetime
    gate: str | None
    gate_name: str | None
    device_id: str | None
    device_name: str | None
    subject_id: str | None
    person: str | None = Field(
        description="the resident's name (or, for a remote opening, the staff account's); "
        "null for no one, or a resident deleted since"
    )
    person_state: PersonState
    kind: str | None = Field(description="face, card, pin, otp or remote")
    outcome: str | None
    reason: str | None
    check: str | None = Field(description="which liveness check refused a face, if one did")
    why: str | None = Field(description="the reason code of a remote opening (RemoteReason)")

    @classmethod
    def of(cls, row: LoggedDecision) -> LoggedDecisionOut:
        return cls(
            id=row.id,
            at=row.at,
            gate=row.gate,
            gate_name=row.gate_name,
            device_id=row.device_id,
            device_name=row.device_name,
            subject_id=row.subject_id,
            person=row.person,
            person_state=row.person_state,
            kind=row.kind,
            outcome=row.outcome,
            reason=row.reason,
            check=row.check,
            why=row.why,
        )


class DecisionPageOut(BaseModel):
    """One page of the access log, newest first."""

    items: list[LoggedDecisionOut]
    total: int = Field(description="decisions matching the filters, on every page")
    offset: int
    limit: int


class RemoteOpenIn(BaseModel):
    """Open a gate from the console: why, from a fixed list (audited; no free text, which
    could name a resident in a log erasure cannot reach)."""

    why: RemoteReason
