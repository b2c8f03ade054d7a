"""Front desk: test recognition with a photo, as a gate would decide it, from the console.

A test shows who is enrolled, so it is for the front desk and administrators, not auditors.
It runs the gate's own decision (:class:`facegate.gate.FaceDecider`: quality gate, 1:N over
the site's enrolled, consenting subjects, at the door's operating point) on an uploaded
still; passive liveness is skipped (a photo is not a live presentation) and the answer says
so. It opens no door and is audited as ``recognition.tested``, which the access log does not
list. Answers hold the outcome, the reason codes and the matched resident's name: never a
score, a distance or a template. Face calls are rate-limited per staff member.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from facegate.api.deps import State
from facegate.api.ratelimit import STAFF_FACES
from facegate.api.routes.admin_scope import SiteDesk, actor_of, read_images
from facegate.api.schemas.frontdesk import RecognitionTestOut
from facegate.gate import FacePresentation, FaceReason, FaceRequest, LivenessDemand
from facegate.gate.decider import FACE_KIND
from facegate.store.audit import AuditAction
from facegate.store.records import GateOutcome

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: front desk"])


@router.post(
    "/recognition-tests",
    response_model=RecognitionTestOut,
    response_model_exclude_none=True,
    status_code=200,
)
def test_recognition(
    site: str,
    state: State,
    desk: SiteDesk,
    gate: Annotated[str, Form(min_length=1, max_length=64)],
    image: Annotated[UploadFile, File(description="one photo, JPEG or PNG")],
) -> RecognitionTestOut:
    """Role: the site's front desk or administrator. Would ``gate`` open for the largest
    face in ``image``? Audited (who, gate, outcome, reason; no image); opens nothing."""
    actor = actor_of(desk)
    state.hit(STAFF_FACES, actor)
    gate_info = state.store.gates.get(site, gate)
    blob = read_images([image], state.settings.max_upload_bytes)[0]
    if not gate_info.accepts_face:
        state.store.record_decision(
            site_code=site,
            actor=actor,
            action=AuditAction.RECOGNITION_TESTED,
            subject_id=None,
            outcome=GateOutcome.TRY_ANOTHER.value,
            detail={
                "gate": gate_info.code,
                "kind": FACE_KIND,
                "reason": FaceReason.GATE_DOES_NOT_ACCEPT.value,
            },
        )
        return RecognitionTestOut(
            gate=gate_info.code,
            outcome=GateOutcome.TRY_ANOTHER,
            reason=FaceReason.GATE_DOES_NOT_ACCEPT.value,
        )
    request = FaceRequest(
        site_code=site, actor=actor, liveness=LivenessDemand.SKIPPED, trial_gate=gate_info.code
    )
    # One face at a time per staff member, like a device: no queue of frames.
    with state.face_turn(actor):
        decided = state.decider().decide(FacePresentation(image=blob), request)
    name = None
    if decided.subject_id is not None:
        name = state.store.get_subject(decided.subject_id).display_name
    return RecognitionTestOut(
        gate=gate_info.code,
        outcome=decided.outcome,
        reason=decided.reason.value,
        name=name,
        subject_id=decided.subject_id,
        quality_reasons=[r.value for r in decided.quality_reasons],
    )
