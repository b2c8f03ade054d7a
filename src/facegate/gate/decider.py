"""The face decider: one presentation → open, deny or try another, by one set of rules.

Below both the gate API and the CLI. The rules, in order; the first that refuses answers:

1. a gate device's gate takes faces, else ``try_another`` / ``gate_does_not_accept``, and
   its weekly schedule lets faces in now, else ``deny`` / ``outside_schedule`` (the
   schedule's check, ``Store.schedules``, reads the time from its ``clock``); the model
   files still match their hashes (``models``), else ``deny`` / ``face_unavailable``; the
   device is not held for probing (``probes``), else ``deny`` / ``probe_suspected``;
2. a challenge answer's nonce redeems for this device and gate (another device's answer
   is refused without spending it) and its frames pass the active check (order, same
   person, non-planar motion), else ``liveness_failed``; any other presentation shows a
   face (the largest one), else ``try_another`` / ``no_face``;
3. the face passes the quality gate, else ``try_another`` / ``poor_quality``;
4. the passive presentation-attack check passes on the frame that is matched, else
   ``try_another`` / ``liveness_failed`` (skipped only for an operator's photo check);
5. a gate that demands movements, and got none yet, answers ``challenge_required``;
6. 1:N on the site's gallery, or 1:1 on the claimed subject, at the operating point:
   ``open`` / ``ok``, else ``deny`` / ``not_recognized``. During a move to a new engine,
   someone without templates of the current engine is matched with an older engine's
   (its embedding computed only then), and the answer asks them to enroll again.
   A gate device's matched face is shown to ``probes``: the refused face that makes the
   device's count of near-identical refusals reach the limit is answered
   ``probe_suspected``, records a ``probing`` incident and holds the device.

A ``liveness_failed`` answer names the check that refused the face (:class:`FailedCheck`:
``passive``, ``active`` or ``challenge``), for the kiosk's words.

Every decision writes exactly one ``decision.identify`` or ``decision.verify`` audit event
(gate and device if any, reason, the failed check, liveness outcome, quality reasons,
operating point, model, and for an auditor's explanation the margin band and the matched
template's id: ``gate.explanation``), never a score or a template, and neither does the
:class:`FaceDecision` it returns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from facegate.core.config import Engine
from facegate.errors import (
    ConsentRequiredError,
    FaceError,
    InvalidRecordError,
    NotFoundError,
    StoreError,
)
from facegate.gate.explanation import (
    decision_threshold,
    explain_identify,
    explain_verify,
    note_match,
)
from facegate.gate.frames import decode_frame
from facegate.gate.legacy import LegacyPipelines
from facegate.gate.liveness import LivenessCheck
from facegate.gate.matcher import Matcher
from facegate.gate.outcome import ClaimStatus, FaceDecision, FaceReason, FailedCheck
from facegate.gate.pool import PipelinePool
from facegate.gate.probe import PROBE_CALIBRATED_MODELS, ProbeDetector, ProbeVerdict
from facegate.gate.request import FacePresentation, FaceRequest, LivenessDemand
from facegate.liveness.challenge import ChallengeError, ChallengeIssuer, ChallengeTicket
from facegate.matching import Decision
from facegate.store import Store
from facegate.store.audit import DetailValue
from facegate.store.detail_keys import MARGIN_KEY, MODEL_KEY
from facegate.store.records import GateOutcome, IncidentKind
from facegate.store.site_reads import has_templates
from facegate.vision.engines import embedding_model
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import Selection
from facegate.vision.record import Box, Face, QualityReason

#: An older engine's detection is the checked face when their boxes overlap this much.
SAME_FACE_IOU = 0.5


#: What the decision's kind is in the audit detail (credential decisions name theirs).
FACE_KIND = "face"

logger = logging.getLogger(__name__)


class ModelIntegrity(Protocol):
    """Whether the model files still match (``facegate.models.watch.ModelWatch``)."""

    @property
    def intact(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class FaceDecider:
    """Decides face presentations with swappable parts.

    Attributes:
        store: claims, galleries and templates, and the audit log.
        pipelines: the face pipelines; one is borrowed per presentation.
        liveness: the passive and active checks.
        matcher: thresholds and 1:1 / 1:N decisions at an operating point.
        max_pixels: the decoded size an image may have (bombs are refused).
        challenges: issues and redeems active challenges; gate devices only.
        probes: watches gate devices' refused faces for probing; None: not watched.
        models: whether the model files still match; None: not watched.
    """

    store: Store
    pipelines: PipelinePool
    liveness: LivenessCheck
    matcher: Matcher
    max_pixels: int
    challenges: ChallengeIssuer | None = None
    legacy: LegacyPipelines | None = None
    probes: ProbeDetector | None = None
    models: ModelIntegrity | None = None

    def decide(self, presented: FacePresentation, request: FaceRequest) -> FaceDecision:
        """Apply the rules (module docstring) to ``presented``; audited once.

        Raises (no decision is made, nothing is audited):
            NotFoundError: ``request.site_code`` is not a site.
            InvalidRecordError: a malformed claimed subject id, or nothing presented.
            ImageError: a frame that does not decode (``ImageTooLargeError``: too many pixels).
            PipelineBusyError: no pipeline came free in time.
            ModelError: a model file was refused; ConfigError: no calibrated threshold.
        """
        if request.gate is None:
            self.store.get_site(request.site_code)  # a gate already names a real site
        claimed = self._claimed_subject(request)
        detail: dict[str, DetailValue] = {**request.where(), "kind": FACE_KIND}
        failed_quality: tuple[QualityReason, ...] = ()
        #: The matched face's embedding, shown to ``probes`` with the outcome.
        matched: NDArray[np.float32] | None = None

        def answer(
            outcome: GateOutcome,
            reason: FaceReason,
            *,
            opened: str | None = None,
            claim: ClaimStatus | None = None,
            failed: FailedCheck | None = None,
            challenge: ChallengeTicket | None = None,
            gallery_subjects: int | None = None,
            legacy: Engine | None = None,
        ) -> FaceDecision:
            if matched is not None and self._probe_tripped(request, matched, outcome, model):
                detail["probe"] = "tripped"
                outcome, reason = GateOutcome.DENY, FaceReason.PROBE_SUSPECTED
            if legacy is not None:
                detail["engine"] = legacy.value
                detail.pop(MARGIN_KEY, None)  # the current engine's band, not the one that opened
            if failed is not None:
                detail["check"] = failed.value
            event = self.store.record_decision(
                site_code=request.site_code,
                actor=request.actor,
                action=request.action,
                subject_id=opened or claimed,
                outcome=outcome.value,
                detail={**detail, "reason": reason.value},
            )
            liveness = detail.get("liveness")
            return FaceDecision(
                outcome=outcome,
                reason=reason,
                audit_event_id=event,
                subject_id=opened,
                claim=claim,
                quality_reasons=failed_quality,
                liveness=None if liveness is None else str(liveness),
                failed_check=failed,
                challenge=challenge,
                gallery_subjects=gallery_subjects,
                reenroll=legacy is not None,
            )

        if request.gate is not None and not request.gate.accepts_face:
            return answer(GateOutcome.TRY_ANOTHER, FaceReason.GATE_DOES_NOT_ACCEPT)
        if request.gate is not None and not self.store.schedules.allows_now(
            request.site_code, request.gate.code, FACE_KIND
        ):
            return answer(GateOutcome.DENY, FaceReason.OUTSIDE_SCHEDULE)
        if self.models is not None and not self.models.intact:
            return answer(GateOutcome.DENY, FaceReason.FACE_UNAVAILABLE)
        if (
            self.probes is not None
            and request.device_id is not None
            and self.probes.held(request.device_id)
        ):
            detail["probe"] = "held"
            return answer(GateOutcome.DENY, FaceReason.PROBE_SUSPECTED)
        point = request.operating_point
        if presented.challenge is not None:
            detail["challenge"] = "answered"
            device_id, gate_code = _device_and_gate(request)
            try:
                ticket = self._issuer().redeem(presented.challenge, device_id, gate_code)
            except ChallengeError as exc:
                # Audited like any refusal; a mismatch left the ticket to its own device.
                detail["liveness"] = exc.code
                return answer(
                    GateOutcome.TRY_ANOTHER,
                    FaceReason.LIVENESS_FAILED,
                    failed=FailedCheck.CHALLENGE,
                )
            frames = [decode_frame(blob, self.max_pixels) for blob in presented.frames]
            with self.pipelines.borrow() as pipeline:
                model = pipeline.embedding_model
                threshold = self.matcher.threshold(model, point)
                checked = self.liveness.active(frames, ticket.steps, pipeline, threshold)
            detail["liveness"] = checked.result.reason
            detail["observed"] = checked.result.observed
            if not checked.result.passed or checked.baseline is None:
                return answer(
                    GateOutcome.TRY_ANOTHER, FaceReason.LIVENESS_FAILED, failed=FailedCheck.ACTIVE
                )
            frame, face = frames[0], checked.baseline
        else:
            if presented.image is None:
                raise InvalidRecordError(
                    "a face decision needs an image, or a challenge's frames",
                    reason="image_missing",
                )
            frame = decode_frame(presented.image, self.max_pixels)
            try:
                with self.pipelines.borrow() as pipeline:
                    model = pipeline.embedding_model
                    face = pipeline.subject(frame, Selection.LARGEST)
            except FaceError:
                return answer(GateOutcome.TRY_ANOTHER, FaceReason.NO_FACE)
        if face.quality is not None and not face.quality.passed:
            failed_quality = face.quality.reasons
            detail["quality_reasons"] = ",".join(r.value for r in failed_quality)
            return answer(GateOutcome.TRY_ANOTHER, FaceReason.POOR_QUALITY)
        if not self._passive_passes(request, frame, face, detail):
            return answer(
                GateOutcome.TRY_ANOTHER, FaceReason.LIVENESS_FAILED, failed=FailedCheck.PASSIVE
            )
        if request.liveness is LivenessDemand.PASSIVE_ACTIVE and presented.challenge is None:
            ticket = self._issuer().issue(*_device_and_gate(request))
            detail["challenge"] = "issued"
            return answer(GateOutcome.TRY_ANOTHER, FaceReason.CHALLENGE_REQUIRED, challenge=ticket)
        if face.embedding is None:
            raise ValueError("the pipeline has no embedding stage")
        matched = face.embedding
        detail["operating_point"] = point.value
        detail[MODEL_KEY] = model
        if request.claimed_subject is None:
            gallery = self.store.load_gallery(
                request.site_code, model, actor=request.actor, purpose=request.purpose
            )
            found = self.matcher.identify(face.embedding, gallery, model, point)
            size = gallery.subject_count
            threshold = decision_threshold(self.matcher, model, point, gallery)
            explained = explain_identify(face.embedding, gallery, threshold, found)
            note_match(detail, self.store, model, found, explained)
            if found is not None:
                return answer(GateOutcome.OPEN, FaceReason.OK, opened=found, gallery_subjects=size)
            older = self._identify_legacy(request, frame, face.box, gallery.subject_ids)
            if older is not None:
                subject, engine = older
                return answer(
                    GateOutcome.OPEN, FaceReason.OK, opened=subject, gallery_subjects=size,
                    legacy=engine,
                )  # fmt: skip
            return answer(GateOutcome.DENY, FaceReason.NOT_RECOGNIZED, gallery_subjects=size)
        claim, templates = self._claim(request, claimed, model)
        if claimed is not None and claim is ClaimStatus.MATCHABLE:
            decided = self.matcher.verify(face.embedding, templates, model, point)
            explained = explain_verify(
                face.embedding, templates, self.matcher.threshold(model, point)
            )
            opened = claimed if decided is Decision.MATCH else None
            note_match(detail, self.store, model, opened, explained)
            if decided is Decision.MATCH:
                return answer(GateOutcome.OPEN, FaceReason.OK, opened=claimed, claim=claim)
        elif claimed is not None and claim is ClaimStatus.NO_TEMPLATE:
            old_engine = self._verify_legacy(request, claimed, frame, face.box)
            if old_engine is not None:
                return answer(
                    GateOutcome.OPEN,
                    FaceReason.OK,
                    opened=claimed,
                    claim=ClaimStatus.MATCHABLE,
                    legacy=old_engine,
                )
        return answer(GateOutcome.DENY, FaceReason.NOT_RECOGNIZED, claim=claim)

    def _probe_tripped(
        self,
        request: FaceRequest,
        embedding: NDArray[np.float32],
        outcome: GateOutcome,
        model: str,
    ) -> bool:
        """Show a gate device's matched face to ``probes`` (embeddings of a model its limits
        were measured for); on the trip, record the ``probing`` incident (a failure to
        record it is logged: the hold stands)."""
        if self.probes is None or request.device_id is None or model not in PROBE_CALIBRATED_MODELS:
            return False
        verdict: ProbeVerdict = self.probes.observe(
            request.device_id, embedding, refused=outcome is not GateOutcome.OPEN
        )
        if not verdict.tripped:
            return False
        limits = self.probes.limits
        try:
            self.store.incidents.record(
                IncidentKind.PROBING,
                f"device {request.device_id} sent {verdict.near_count} near-identical refused "
                f"faces within {limits.window_s:g} s; its faces are held for {limits.hold_s:g} s",
                request.site_code,
            )
        except StoreError:
            logger.exception("could not record a probing incident")
        return True

    def _legacy_face(self, engine: Engine, frame: RGBImage, checked: Box) -> Face | None:
        """The face that passed quality and liveness (``checked``, the current engine's
        box), through an older engine's pipeline: only its detection that overlaps that box,
        never another face it may prefer (a photo held up beside a live face)."""
        if self.legacy is None:
            return None
        with self.legacy.borrow(engine) as pipeline:
            faces, _ = pipeline.detect(frame)
            same = [f for f in faces if f.box.iou(checked) >= SAME_FACE_IOU]
            if not same:
                return None
            face = pipeline.complete(frame, max(same, key=lambda f: f.box.iou(checked)))
        return face if face.embedding is not None else None

    def _identify_legacy(
        self, request: FaceRequest, frame: RGBImage, checked: Box, on_current: tuple[str, ...]
    ) -> tuple[str, Engine] | None:
        """1:N among the people with no template of the current engine, engine by engine."""
        if self.legacy is None:
            return None
        for engine in self.legacy.engines:
            model = embedding_model(engine)
            if not has_templates(self.store, request.site_code, model):
                continue
            gallery = self.store.load_gallery(
                request.site_code, model, actor=request.actor, purpose=request.purpose
            ).excluding(on_current)
            if not len(gallery):
                continue
            face = self._legacy_face(engine, frame, checked)
            if face is None or face.embedding is None:
                continue
            found = self.matcher.identify(face.embedding, gallery, model, request.operating_point)
            if found is not None:
                return found, engine
        return None

    def _verify_legacy(
        self, request: FaceRequest, claimed: str, frame: RGBImage, checked: Box
    ) -> Engine | None:
        """1:1 with the claimed subject's older templates when they have no current ones."""
        if self.legacy is None:
            return None
        for engine in self.legacy.engines:
            model = embedding_model(engine)
            claim, templates = self._claim(request, claimed, model)
            if claim is not ClaimStatus.MATCHABLE:
                continue
            face = self._legacy_face(engine, frame, checked)
            if face is None or face.embedding is None:
                continue
            point = request.operating_point
            if self.matcher.verify(face.embedding, templates, model, point) is Decision.MATCH:
                return engine
        return None

    def _passive_passes(
        self,
        request: FaceRequest,
        frame: RGBImage,
        face: Face,
        detail: dict[str, DetailValue],
    ) -> bool:
        """Rule 4, noting its outcome in ``detail`` (``liveness`` keeps an active outcome)."""
        if request.liveness is LivenessDemand.SKIPPED:
            detail["liveness"] = LivenessDemand.SKIPPED.value
            return True
        passive = self.liveness.passive(frame, face.box)
        detail["passive"] = passive.reason
        if not passive.passed:
            detail["liveness"] = passive.reason
            return False
        detail.setdefault("liveness", passive.reason)
        return True

    def _claimed_subject(self, request: FaceRequest) -> str | None:
        """The claimed subject if it is one of the site's (the audit names it, as a PIN's
        does), else None. ``InvalidRecordError`` for a malformed id."""
        if request.claimed_subject is None:
            return None
        try:
            subject = self.store.get_subject(request.claimed_subject)
        except NotFoundError:
            return None
        return subject.id if subject.site_code == request.site_code else None

    def _claim(
        self, request: FaceRequest, claimed: str | None, model: str
    ) -> tuple[ClaimStatus, NDArray[np.float32]]:
        """Whether the claimed subject can be compared, and their usable templates."""
        none = np.empty((0, 0), dtype=np.float32)
        if claimed is None:
            return ClaimStatus.UNKNOWN, none
        try:
            templates = self.store.load_subject_templates(
                claimed, model, actor=request.actor, purpose=request.purpose
            )
        except NotFoundError:
            return ClaimStatus.UNKNOWN, none
        except ConsentRequiredError:
            return ClaimStatus.NO_CONSENT, none
        if len(templates) == 0:
            return ClaimStatus.NO_TEMPLATE, none
        return ClaimStatus.MATCHABLE, templates

    def _issuer(self) -> ChallengeIssuer:
        if self.challenges is None:
            raise ValueError("challenges: this decider issues no challenges (no gate devices)")
        return self.challenges


def _device_and_gate(request: FaceRequest) -> tuple[str, str]:
    """The device and gate a challenge is bound to."""
    if request.gate is None or request.device_id is None:
        raise ValueError("a challenge is bound to a gate device: the request names none")
    return request.device_id, request.gate.code
