"""What a face decision comes to: an outcome, its reason code, and nothing a caller must not
see (no score, no threshold, no template)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from facegate.liveness.challenge import ChallengeTicket
from facegate.store.records import GateOutcome
from facegate.vision.record import QualityReason


class FaceReason(StrEnum):
    """Stable reason codes of face decisions (credential decisions use CredentialReason)."""

    OK = "ok"
    #: Unknown face, no match, or a claimed subject who cannot be matched (unknown, withdrawn,
    #: not enrolled): one answer, so a probe learns nothing about who is enrolled.
    NOT_RECOGNIZED = "not_recognized"
    NO_FACE = "no_face"
    POOR_QUALITY = "poor_quality"
    LIVENESS_FAILED = "liveness_failed"
    #: The gate wants movements too: the answer carries a challenge to do and send back.
    CHALLENGE_REQUIRED = "challenge_required"
    GATE_DOES_NOT_ACCEPT = "gate_does_not_accept"
    #: The gate's weekly schedule does not let faces in now (``store.schedules``).
    OUTSIDE_SCHEDULE = "outside_schedule"
    #: The device sent many near-identical refused faces: its faces are held a while
    #: (``facegate.gate.probe``); no more is said, so a probe learns nothing from it.
    PROBE_SUSPECTED = "probe_suspected"
    #: A model file changed while the service ran (``facegate.models.watch``): faces are
    #: refused until a restart with good files.
    FACE_UNAVAILABLE = "face_unavailable"


class FailedCheck(StrEnum):
    """Which liveness check refused a face (reason ``liveness_failed``), for the kiosk's words
    and the audit's ``check``. Coarse on purpose: the specific outcome (``passive_attack``,
    ``active_planar_motion``, ``expired_nonce``, ...) stays in the audit's ``liveness``, as
    naming the cue that caught an attack would help tune the next one. Never a score.
    """

    #: The presentation-attack check on the matched frame.
    PASSIVE = "passive"
    #: The challenge's movements (order, same person, non-planar motion).
    ACTIVE = "active"
    #: The challenge's nonce: unknown, used, expired, or another device's or gate's.
    CHALLENGE = "challenge"


class ClaimStatus(StrEnum):
    """Whether a claimed subject (1:1) could be compared at all.

    A gate answers ``not_recognized`` for every status but MATCHABLE alike; an operator's
    check (the CLI) is told which, as the typed error of its exit code.
    """

    MATCHABLE = "matchable"
    #: Not a subject of the site, or deleted.
    UNKNOWN = "unknown"
    NO_CONSENT = "no_consent"
    NO_TEMPLATE = "no_template"


@dataclass(frozen=True, slots=True)
class FaceDecision:
    """One face decision, as audited (``audit_event_id``).

    ``subject_id`` (the subject the face opened for), ``claim`` and ``gallery_subjects``
    (how many subjects a 1:N search looked at) are for the server and the operator: a gate
    device's answer carries none of them. ``liveness`` is the liveness outcome code
    (``passive_ok``, ``active_ok``, ``skipped``, ...) where a check ran or was skipped;
    ``failed_check`` says which check refused the face, with reason ``liveness_failed``.
    """

    outcome: GateOutcome
    reason: FaceReason
    audit_event_id: int
    subject_id: str | None = None
    claim: ClaimStatus | None = None
    quality_reasons: tuple[QualityReason, ...] = ()
    liveness: str | None = None
    failed_check: FailedCheck | None = None
    challenge: ChallengeTicket | None = None
    gallery_subjects: int | None = None
    #: Opened with an older engine's templates: the person should enroll again.
    reenroll: bool = False

    @property
    def opened(self) -> bool:
        return self.outcome is GateOutcome.OPEN
