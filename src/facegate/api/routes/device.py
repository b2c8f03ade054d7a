"""Gate device routes: one decision per presentation, and a resident's kiosk enrollment.

Both serve the one role ``Device`` (a bearer API key), scoped to the device's site and to
the gates it was registered for.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from facegate.api.decision import (
    PIPELINE_LOCK,
    DecisionKind,
    GateDecision,
    decide_credential,
    decide_face,
    device_actor,
)
from facegate.api.deps import Device, State
from facegate.api.liveness import LivenessCheck, NotEvaluated
from facegate.api.ratelimit import (
    DEVICE_DECISIONS,
    DEVICE_FACES,
    SIGNIN_ATTEMPTS,
    SUBJECT_SECRETS,
    Limit,
)
from facegate.api.schemas.decisions import DecisionOut, KioskEnrollmentOut
from facegate.api.state import AppState
from facegate.errors import InvalidRecordError, PermissionDeniedError, PolicyError, RateLimitedError
from facegate.recognition import enroll_images
from facegate.store.accounts import DeviceInfo
from facegate.store.records import GateInfo
from facegate.vision.image import load_image

router = APIRouter(prefix="/api/v1", tags=["gate device"])

#: Images one kiosk enrollment may carry.
MAX_ENROLLMENT_IMAGES = 5


def liveness_check() -> LivenessCheck:
    """The liveness hook (overridable with ``app.dependency_overrides``)."""
    return NotEvaluated()


Liveness = Annotated[LivenessCheck, Depends(liveness_check)]


def _hit(state: AppState, limit: Limit, key: str) -> None:
    try:
        state.limiter.hit(limit, key)
    except RateLimitedError:
        state.metrics.rate_limited.labels(limit.name).inc()
        raise


def _device_gate(state: AppState, device: DeviceInfo, gate: str) -> GateInfo:
    if gate not in device.gate_codes:
        raise PermissionDeniedError("this device does not serve that gate")
    return state.store.gates.get(device.site_code, gate)


def _read(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidRecordError(f"an image is over {limit} bytes")
    return data


@router.post("/decisions", response_model=DecisionOut)
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
) -> DecisionOut:
    """Decide one presentation: a face (``image``), a card, PIN (with ``resident_number``,
    the six digits on the resident's self-service page, or ``subject_id``) or one-time
    code (``secret``). A wrong resident number and a wrong PIN get the same answer.
    Answers open / deny / try_another with a reason code and the non-face credentials the
    gate accepts. Audited; no score or template is returned."""
    started = time.perf_counter()
    _hit(state, DEVICE_DECISIONS, device.id)
    gate_info = _device_gate(state, device, gate)
    if kind is DecisionKind.FACE:
        if image is None:
            raise InvalidRecordError("a face decision needs an image")
        _hit(state, DEVICE_FACES, device.id)
        data = _read(image, state.settings.max_upload_bytes)
        result = decide_face(
            state.store,
            state.pipeline,
            state.registry,
            liveness,
            device,
            gate_info,
            data,
            subject_id,
            state.settings.max_image_pixels,
        )
    else:
        if not secret:
            raise InvalidRecordError(f"a {kind.value} decision needs the secret")
        if kind is DecisionKind.PIN and subject_id:
            _hit(state, SUBJECT_SECRETS, subject_id)
        if kind is DecisionKind.PIN and resident_number:
            _hit(state, SUBJECT_SECRETS, f"{device.site_code}#{resident_number.strip()}")
        result = decide_credential(
            state.store, device, gate_info, kind, secret, subject_id, resident_number
        )
    _observe(state, result, time.perf_counter() - started)
    return DecisionOut(
        outcome=result.outcome,
        reason=result.reason,
        decision_id=result.decision_id,
        alternatives=list(result.alternatives),
    )


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
    _hit(state, DEVICE_DECISIONS, device.id)
    _hit(state, SIGNIN_ATTEMPTS, device_actor(device))
    gate_info = _device_gate(state, device, gate)
    if not gate_info.accepts_face:
        raise PolicyError("this gate does not use faces: nothing to enroll here")
    if not 1 <= len(images) <= MAX_ENROLLMENT_IMAGES:
        raise InvalidRecordError(f"give 1 to {MAX_ENROLLMENT_IMAGES} images")
    for _ in images:
        _hit(state, DEVICE_FACES, device.id)
    blobs = [_read(upload, state.settings.max_upload_bytes) for upload in images]
    # Decoded before the code is spent: a broken upload does not cost the resident's code.
    for blob in blobs:
        load_image(blob, max_pixels=state.settings.max_image_pixels)
    subject_id = state.store.accounts.redeem_signin_code(
        device.site_code, code, device_id=device.id
    )
    with PIPELINE_LOCK:
        ids = enroll_images(
            state.store,
            state.pipeline,
            subject_id,
            blobs,
            device_actor(device),
            state.settings.max_image_pixels,
        )
    return KioskEnrollmentOut(enrolled=len(ids), subject_id=subject_id)


def _observe(state: AppState, result: GateDecision, seconds: float) -> None:
    state.metrics.decisions.labels(result.kind.value, result.outcome.value).inc()
    state.metrics.decision_latency.labels(result.kind.value).observe(seconds)
