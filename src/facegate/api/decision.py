"""The gate decision engine: one presented credential → open, deny or try another, audited.

One function per kind: :func:`decide_credential` for card, PIN and one-time code (the
store decides and audits), :func:`decide_face` for a camera frame (decode → detect →
quality → liveness (passive; a challenge where the gate asks) → match, one
``decision.identify`` or ``decision.verify`` event).
A :class:`GateDecision` holds no score, no template and no name; ``subject_id`` stays on
the server (metrics, logs) and is never put in a response.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum

from facegate.api.liveness import LivenessCheck
from facegate.errors import ConsentRequiredError, FaceError, InvalidRecordError, NotFoundError
from facegate.liveness.challenge import ChallengeError, ChallengeIssuer, ChallengeTicket
from facegate.matching import (
    DEFAULT_OPERATING_POINT,
    Decision,
    Outcome,
    identify,
    operating_point,
    verify,
)
from facegate.models.registry import ModelRegistry
from facegate.store import Store
from facegate.store.accounts import DeviceInfo
from facegate.store.audit import AuditAction, DetailValue
from facegate.store.records import CredentialKind, GateInfo, GateOutcome, LivenessLevel
from facegate.vision.image import RGBImage, load_image
from facegate.vision.pipeline import FacePipeline, Selection

#: dlib's models are not documented as thread-safe: one frame at a time per process.
PIPELINE_LOCK = threading.Lock()
#: Frames are matched on a copy whose longer side is at most this: a gate camera's face is
#: far smaller, and a 6000×6000 upload must not hold ``PIPELINE_LOCK`` for seconds.
MAX_FRAME_SIDE = 1280


def decode_frame(blob: bytes, max_pixels: int) -> RGBImage:
    """An uploaded frame as the bounded copy the pipeline works on (decoded outside the
    lock: decoding a large file must not stall the other gates)."""
    return load_image(blob, max_pixels=max_pixels, max_side=MAX_FRAME_SIDE)


class DecisionKind(StrEnum):
    """What a device presents: a face, or one of the non-face credentials."""

    FACE = "face"
    CARD = "card"
    PIN = "pin"
    OTP = "otp"


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


def alternatives(gate: GateInfo) -> tuple[CredentialKind, ...]:
    """The non-face credentials ``gate`` accepts; never empty (R-10)."""
    return tuple(kind for kind in CredentialKind if gate.accepts(kind))


def device_actor(device: DeviceInfo) -> str:
    return f"device:{device.id}"


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
        raise ValueError("kind: use decide_face for a face")
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


@dataclass(frozen=True, slots=True)
class FacePresentation:
    """What a device sent for a face decision: one frame, or a challenge answer (the nonce
    it was given and the frames, in time order, of the person doing the movements)."""

    image: bytes | None = None
    challenge: str | None = None
    frames: tuple[bytes, ...] = ()


def decide_face(
    store: Store,
    pipeline: FacePipeline,
    registry: ModelRegistry,
    liveness: LivenessCheck,
    issuer: ChallengeIssuer,
    device: DeviceInfo,
    gate: GateInfo,
    presented: FacePresentation,
    subject_id: str | None,
    max_pixels: int,
) -> GateDecision:
    """A face at ``gate``: 1:N on the site's gallery, or 1:1 when ``subject_id``.

    Passive liveness runs on the frame that is matched; a ``passive_active`` gate first
    answers ``challenge_required`` with a challenge, then checks the answer's sequence.

    Raises ``ImageError`` (422, 413 for too many pixels) for a frame that does not decode;
    every other outcome is a decision, audited once with gate, device, liveness outcome and
    quality reasons (never a score).
    """
    action = AuditAction.DECISION_IDENTIFY if subject_id is None else AuditAction.DECISION_VERIFY
    detail: dict[str, DetailValue] = {"gate": gate.code, "kind": "face", "device": device.id}
    # The audit names the claimed subject when it is one of this site's (as a PIN's does).
    claimed = _claimed_subject(store, device, subject_id)

    def answer(
        outcome: GateOutcome,
        reason: FaceReason,
        opened: str | None = None,
        challenge: ChallengeTicket | None = None,
    ) -> GateDecision:
        event = store.record_decision(
            site_code=device.site_code,
            actor=device_actor(device),
            action=action,
            subject_id=opened or claimed,
            outcome=outcome.value,
            detail={**detail, "reason": reason.value},
        )
        return GateDecision(
            DecisionKind.FACE, outcome, reason.value, event, alternatives(gate), opened, challenge
        )

    if not gate.accepts_face:
        return answer(GateOutcome.TRY_ANOTHER, FaceReason.GATE_DOES_NOT_ACCEPT)
    point = operating_point(registry.entry(pipeline.embedding_model), DEFAULT_OPERATING_POINT)
    if presented.challenge is not None:
        detail["challenge"] = "answered"
        try:
            ticket = issuer.redeem(presented.challenge, device.id, gate.code)
        except ChallengeError as exc:
            detail["liveness"] = exc.code
            return answer(GateOutcome.TRY_ANOTHER, FaceReason.LIVENESS_FAILED)
        frames = [decode_frame(blob, max_pixels) for blob in presented.frames]
        with PIPELINE_LOCK:
            checked = liveness.active(frames, ticket.steps, pipeline, point.threshold)
        detail["liveness"] = checked.result.reason
        detail["observed"] = checked.result.observed
        if not checked.result.passed or checked.baseline is None:
            return answer(GateOutcome.TRY_ANOTHER, FaceReason.LIVENESS_FAILED)
        frame, face = frames[0], checked.baseline
    else:
        if presented.image is None:
            raise InvalidRecordError("a face decision needs an image, or a challenge's frames")
        frame = decode_frame(presented.image, max_pixels)
        try:
            with PIPELINE_LOCK:
                face = pipeline.subject(frame, Selection.LARGEST)
        except FaceError:
            return answer(GateOutcome.TRY_ANOTHER, FaceReason.NO_FACE)
    if face.quality is not None and not face.quality.passed:
        detail["quality_reasons"] = ",".join(r.value for r in face.quality.reasons)
        return answer(GateOutcome.TRY_ANOTHER, FaceReason.POOR_QUALITY)
    passive = liveness.passive(frame, face.box)
    detail["passive"] = passive.reason
    detail.setdefault("liveness", passive.reason)
    if not passive.passed:
        detail["liveness"] = passive.reason
        return answer(GateOutcome.TRY_ANOTHER, FaceReason.LIVENESS_FAILED)
    if gate.liveness is LivenessLevel.PASSIVE_ACTIVE and presented.challenge is None:
        ticket = issuer.issue(device.id, gate.code)
        detail["challenge"] = "issued"
        return answer(GateOutcome.TRY_ANOTHER, FaceReason.CHALLENGE_REQUIRED, challenge=ticket)
    if face.embedding is None:
        raise ValueError("the pipeline has no embedding stage")
    detail["operating_point"] = DEFAULT_OPERATING_POINT.value
    actor = device_actor(device)
    if subject_id is None:
        gallery = store.load_gallery(
            device.site_code, pipeline.embedding_model, actor=actor, purpose="gate"
        )
        found = identify(face.embedding, gallery, point.threshold)
        if found.outcome is Outcome.IDENTIFIED and found.subject_id is not None:
            return answer(GateOutcome.OPEN, FaceReason.OK, found.subject_id)
        return answer(GateOutcome.DENY, FaceReason.NOT_RECOGNIZED)
    if claimed is None:
        return answer(GateOutcome.DENY, FaceReason.NOT_RECOGNIZED)
    try:
        templates = store.load_subject_templates(
            subject_id, pipeline.embedding_model, actor=actor, purpose="gate"
        )
    except (NotFoundError, ConsentRequiredError):
        return answer(GateOutcome.DENY, FaceReason.NOT_RECOGNIZED)
    if len(templates) and verify(face.embedding, templates, point.threshold).decision is (
        Decision.MATCH
    ):
        return answer(GateOutcome.OPEN, FaceReason.OK, subject_id)
    return answer(GateOutcome.DENY, FaceReason.NOT_RECOGNIZED)


def _claimed_subject(store: Store, device: DeviceInfo, subject_id: str | None) -> str | None:
    """``subject_id`` if it names a subject of the device's site, else None."""
    if subject_id is None:
        return None
    try:
        subject = store.get_subject(subject_id)
    except NotFoundError:
        return None
    return subject.id if subject.site_code == device.site_code else None
