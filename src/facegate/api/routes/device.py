"""Gate device routes: one decision per presentation, and a resident's kiosk enrollment.

Both serve the one role ``Device`` (a bearer API key), scoped to the device's site and to
the gates it was registered for.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from facegate.api.decision import DecisionKind, GateDecision, decide_credential, face_answer
from facegate.api.deps import Device, State
from facegate.api.ratelimit import (
    DEVICE_DECISIONS,
    DEVICE_FACES,
    SIGNIN_ATTEMPTS,
)
from facegate.api.schemas.decisions import ChallengeOut, DecisionOut, KioskEnrollmentOut
from facegate.api.state import AppState
from facegate.errors import InvalidRecordError, PermissionDeniedError, PolicyError
from facegate.gate import FacePresentation, FaceRequest
from facegate.gate.frames import decode_frame
from facegate.gate.liveness import LivenessCheck
from facegate.gate.matcher import CalibratedMatcher
from facegate.gate.request import device_actor
from facegate.liveness.active import MAX_FRAMES
from facegate.recognition import enroll_images
from facegate.store.accounts import DeviceInfo
from facegate.store.records import GateInfo

router = APIRouter(prefix="/api/v1", tags=["gate device"])

#: Images one kiosk enrollment may carry.
MAX_ENROLLMENT_IMAGES = 5
#: Frames one challenge answer may carry (the active check's own cap).
MAX_CHALLENGE_FRAMES = MAX_FRAMES


def liveness_check(state: State) -> LivenessCheck:
    """The liveness checks (a dependency, so tests can watch what they are asked)."""
    return state.liveness


Liveness = Annotated[LivenessCheck, Depends(liveness_check)]


def _device_gate(state: AppState, device: DeviceInfo, gate: str) -> GateInfo:
    if gate not in device.gate_codes:
        raise PermissionDeniedError(
            "this device does not serve that gate", reason="device_wrong_gate"
        )
    return state.store.gates.get(device.site_code, gate)


def _read(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidRecordError(f"an image is over {limit} bytes", reason="image_too_large")
    return data


@router.post("/decisions", response_model=DecisionOut, response_model_exclude_none=True)
def decide(
    state: State,
    device: Device,
    liveness: Liveness,
    gate: Annotated[str, Form(max_length=64)],
    kind: Annotated[DecisionKind, Form()],
    secret: Annotated[str | None, Form(max_length=256)] = None,
    subject_id: Annotated[str | None, Form(max_length=64)] = None,
    resident_number: Annotated[str | None, Form(max_length=16)] = None,
    image: Annotated[UploadFile | None, File()] = None,
    challenge: Annotated[str | None, Form(max_length=64)] = None,
    frames: Annotated[list[UploadFile] | None, File()] = None,
) -> DecisionOut:
    """Decide one presentation: a face (``image``), a card, PIN (with ``resident_number``,
    the six digits on the resident's self-service page, or ``subject_id``) or one-time
    code (``secret``). A wrong resident number and a wrong PIN get the same answer.
    Answers open / deny / try_another with a reason code and the non-face credentials the
    gate accepts; ``liveness_failed`` comes with the ``check`` that refused the face.
    Audited; no score or template is returned.

    A gate that asks for active liveness answers a passing face with ``challenge_required``
    and a ``challenge``; send its ``nonce`` as ``challenge`` with ``frames`` (time order,
    first looking at the camera, then doing each step)."""
    started = time.perf_counter()
    state.hit(DEVICE_DECISIONS, device.id)
    gate_info = _device_gate(state, device, gate)
    if kind is DecisionKind.FACE:
        presented = _face_presentation(state, device, image, challenge, frames or [])
        request = FaceRequest.at_gate(device, gate_info, subject_id)
        with state.face_turn(device.id):
            decided = state.decider(liveness).decide(presented, request)
        result = face_answer(decided, gate_info)
    else:
        if not secret:
            raise InvalidRecordError(
                f"a {kind.value} decision needs the secret", reason="secret_missing"
            )
        # PIN guessing is slowed per typed number and per device in the store (back-off
        # that a stranger cannot turn into a lock-out): no per-subject limit here.
        result = decide_credential(
            state.store, device, gate_info, kind, secret, subject_id, resident_number
        )
    _observe(state, result, time.perf_counter() - started)
    state.live.publish(device.site_code, result.decision_id)
    ticket = result.challenge
    return DecisionOut(
        outcome=result.outcome,
        reason=result.reason,
        decision_id=result.decision_id,
        alternatives=list(result.alternatives),
        retry_after=result.retry_after,
        prompt=result.prompt,
        check=result.check,
        challenge=None
        if ticket is None
        else ChallengeOut(
            nonce=ticket.nonce, steps=list(ticket.steps), expires_in=int(ticket.ttl_seconds)
        ),
    )


def _face_presentation(
    state: AppState,
    device: DeviceInfo,
    image: UploadFile | None,
    challenge: str | None,
    frames: list[UploadFile],
) -> FacePresentation:
    limit = state.settings.max_upload_bytes
    if challenge is None:
        if image is None or frames:
            raise InvalidRecordError(
                "a face decision needs one image (frames need a challenge)", reason="image_missing"
            )
        state.hit(DEVICE_FACES, device.id)
        return FacePresentation(image=_read(image, limit))
    if image is not None:
        raise InvalidRecordError(
            "a challenge answer sends frames, not an image", reason="challenge_needs_frames"
        )
    if len(frames) > MAX_CHALLENGE_FRAMES:
        raise InvalidRecordError(
            f"a challenge answer holds at most {MAX_CHALLENGE_FRAMES} frames",
            reason="too_many_frames",
        )
    state.hit(DEVICE_FACES, device.id)
    return FacePresentation(challenge=challenge, frames=tuple(_read(f, limit) for f in frames))


@router.post("/enrollments", response_model=KioskEnrollmentOut)
def enroll_at_kiosk(
    state: State,
    device: Device,
    gate: Annotated[str, Form(max_length=64)],
    code: Annotated[str, Form(max_length=64)],
    images: Annotated[list[UploadFile], File()],
) -> KioskEnrollmentOut:
    """A resident enrolls their face at the kiosk with their self-service sign-in code
    (spent here). Their face consent must already be on record; each image must show one
    face that passes the quality gate."""
    state.hit(DEVICE_DECISIONS, device.id)
    state.hit(SIGNIN_ATTEMPTS, device_actor(device))
    gate_info = _device_gate(state, device, gate)
    if not gate_info.accepts_face:
        raise PolicyError(
            "this gate does not use faces: nothing to enroll here", reason="gate_without_face"
        )
    if not 1 <= len(images) <= MAX_ENROLLMENT_IMAGES:
        raise InvalidRecordError(
            f"give 1 to {MAX_ENROLLMENT_IMAGES} images", reason="enrollment_image_count"
        )
    for _ in images:
        state.hit(DEVICE_FACES, device.id)
    blobs = [_read(upload, state.settings.max_upload_bytes) for upload in images]
    # Decoded before the code is spent: a broken upload does not cost the resident's code.
    frames = [decode_frame(blob, state.settings.max_image_pixels) for blob in blobs]
    # The device's turn and a pipeline are taken before the code is spent: a busy gate
    # does not cost the resident's code.
    with state.face_turn(device.id), state.pipelines.borrow() as pipeline:
        subject_id = state.store.accounts.redeem_signin_code(
            device.site_code, code, device_id=device.id
        )
        ids = enroll_images(
            state.store,
            pipeline,
            subject_id,
            frames,
            device_actor(device),
            state.settings.max_image_pixels,
            images_are_live=True,
            matcher=CalibratedMatcher(state.registry),
        )
    return KioskEnrollmentOut(enrolled=len(ids), subject_id=subject_id)


def _observe(state: AppState, result: GateDecision, seconds: float) -> None:
    state.metrics.decisions.labels(result.kind.value, result.outcome.value).inc()
    state.metrics.decision_latency.labels(result.kind.value).observe(seconds)
