"""An operator's face work: enroll photos, verify or identify a photo (CLI, demo).

Verification and identification are the gate's own decision (:mod:`facegate.gate`: quality
gate, liveness as asked, match at an operating point, one audit event), told to an operator:
a face that cannot be used, or a claimed subject who cannot be compared, is a typed error
(the CLI's exit codes), and a result never holds a score or a template. Images are decoded,
used and dropped: nothing here writes an image anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.errors import (
    ConsentRequiredError,
    FacegateError,
    LivenessFailedError,
    NoFaceError,
    NotFoundError,
    PoorQualityError,
)
from facegate.gate import (
    ClaimStatus,
    FaceDecider,
    FaceDecision,
    FacePresentation,
    FaceReason,
    FaceRequest,
    LivenessDemand,
)
from facegate.gate.enrollment_guard import guard_enrollment
from facegate.gate.frames import ImageSource
from facegate.gate.matcher import CalibratedMatcher, Matcher
from facegate.matching import DEFAULT_OPERATING_POINT, OperatingPoint, Outcome
from facegate.matching.decide import Decision
from facegate.models.registry import ModelRegistry
from facegate.store import Store
from facegate.vision.image import RGBImage, load_image
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Embedding, Face


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What a caller may see of a 1:1 decision: no score, no template. ``liveness`` is the
    liveness outcome code (``passive_ok``, or ``skipped`` for an offline photo check)."""

    subject_id: str
    decision: Decision
    operating_point: OperatingPoint
    liveness: str
    audit_event_id: int


@dataclass(frozen=True, slots=True)
class IdentifyResult:
    """What a caller may see of a 1:N decision: no score, no template."""

    outcome: Outcome
    subject_id: str | None
    operating_point: OperatingPoint
    liveness: str
    gallery_subjects: int
    audit_event_id: int


def enroll_images(
    store: Store,
    pipeline: FacePipeline,
    subject_id: str,
    sources: Sequence[ImageSource | RGBImage],
    actor: str,
    max_pixels: int,
    on_image_done: Callable[[], None] | None = None,
    *,
    live: Sequence[ImageSource | RGBImage] = (),
    images_are_live: bool = False,
    matcher: Matcher | None = None,
) -> list[str]:
    """Enroll one template per image (encoded, or already decoded), all or none.

    Each image must show exactly one face (:attr:`Selection.SINGLE`) that passes the quality
    gate; otherwise nothing is stored and the error names the image and the reasons.
    Consent is checked by the store inside the same transaction as the insert.
    ``live``: captures of the person at enrollment (the desk camera), compared with the
    images and not enrolled; ``images_are_live`` (the kiosk's frames): the images are
    compared with each other as well. The enrollment guard (:mod:`facegate.gate.enrollment_guard`)
    then refuses faces that match another enrolled person of the site, or differ from the
    live capture (``PolicyError``, reason ``enrollment_refused``); ``matcher`` gives the
    door's thresholds (default: the shipped registry's).

    Returns:
        The new template ids.
    """
    if not sources:
        raise ValueError("no images to enroll")
    # Face data of a subject without consent must not even be computed, so
    # check before the pipeline runs; the store checks again inside the insert's transaction.
    store.check_enrollment_allowed(subject_id)
    faces = _enrollment_faces(pipeline, sources, max_pixels, on_image_done)
    captured = _enrollment_faces(pipeline, live, max_pixels, None, label="live capture")
    embeddings = [_embedding(f) for f in faces]
    qualities = [f.quality.score if f.quality else 0.0 for f in faces]
    guard_enrollment(
        store,
        matcher or CalibratedMatcher(ModelRegistry.default()),
        subject_id,
        embeddings,
        [_embedding(f) for f in captured] + (embeddings if images_are_live else []),
        pipeline.embedding_model,
        actor,
    )
    return store.enroll(subject_id, embeddings, pipeline.embedding_model, qualities, actor=actor)


def _enrollment_faces(
    pipeline: FacePipeline,
    sources: Sequence[ImageSource | RGBImage],
    max_pixels: int,
    on_image_done: Callable[[], None] | None,
    label: str = "image",
) -> list[Face]:
    """One face per source through ``pipeline``, each passing the quality gate."""
    faces: list[Face] = []
    for index, source in enumerate(sources):
        name = str(source) if isinstance(source, Path) else f"{label} {index + 1}"
        try:
            image = (
                source
                if isinstance(source, np.ndarray)
                else load_image(source, max_pixels=max_pixels)
            )
            face = pipeline.subject(image, Selection.SINGLE)
            if face.quality is not None and not face.quality.passed:
                reasons = [r.value for r in face.quality.reasons]
                raise PoorQualityError(
                    f"face fails the quality gate ({', '.join(reasons)})", reasons
                )
        except FacegateError as exc:
            exc.args = (f"{name}: {exc}",)
            raise
        faces.append(face)
        if on_image_done is not None:
            on_image_done()
    return faces


def _embedding(face: Face) -> Embedding:
    if face.embedding is None:
        raise ValueError("the pipeline has no embedding stage")
    return face.embedding


def verify_image(
    decider: FaceDecider,
    subject_id: str,
    source: ImageSource,
    actor: str,
    point: OperatingPoint = DEFAULT_OPERATING_POINT,
    liveness: LivenessDemand = LivenessDemand.PASSIVE,
) -> VerifyResult:
    """1:1: is the largest face in the image ``subject_id``? Decided and audited as at a
    gate; ``liveness`` is PASSIVE unless the operator checks a photo file (SKIPPED).

    Raises:
        NotFoundError: unknown or deleted subject, or one with no enrolled template (a
            "no match" would wrongly suggest the face was compared).
        ConsentRequiredError: the subject has no usable consent.
        NoFaceError, PoorQualityError, LivenessFailedError: the face cannot be used.
        ImageError: the image does not decode.
    """
    subject = decider.store.get_subject(subject_id)
    request = FaceRequest(subject.site_code, actor, subject_id, liveness, OperatingPoint(point))
    decision = decider.decide(FacePresentation(image=source), request)
    _raise_for_face(decision)
    if decision.claim is ClaimStatus.UNKNOWN:
        raise NotFoundError(f"no subject with id {subject_id}")
    if decision.claim is ClaimStatus.NO_CONSENT:
        raise ConsentRequiredError(f"subject {subject_id} has no usable consent")
    if decision.claim is ClaimStatus.NO_TEMPLATE:
        raise NotFoundError(f"subject {subject_id} has no enrolled face template")
    return VerifyResult(
        subject_id,
        Decision.MATCH if decision.opened else Decision.NO_MATCH,
        request.operating_point,
        decision.liveness or "",
        decision.audit_event_id,
    )


def identify_image(
    decider: FaceDecider,
    site_code: str,
    source: ImageSource,
    actor: str,
    point: OperatingPoint = DEFAULT_OPERATING_POINT,
    liveness: LivenessDemand = LivenessDemand.PASSIVE,
) -> IdentifyResult:
    """1:N: who among the site's consenting subjects is this, or UNKNOWN. Decided and
    audited as at a gate (see :func:`verify_image` for ``liveness`` and the face errors).

    Raises:
        NotFoundError: ``site_code`` is not a site.
    """
    request = FaceRequest(site_code, actor, None, liveness, OperatingPoint(point))
    decision = decider.decide(FacePresentation(image=source), request)
    _raise_for_face(decision)
    return IdentifyResult(
        Outcome.IDENTIFIED if decision.opened else Outcome.UNKNOWN,
        decision.subject_id,
        request.operating_point,
        decision.liveness or "",
        decision.gallery_subjects or 0,
        decision.audit_event_id,
    )


def _raise_for_face(decision: FaceDecision) -> None:
    """The typed error of a face the decision could not use (the CLI's exit 4)."""
    if decision.reason is FaceReason.NO_FACE:
        raise NoFaceError("no face found in the image")
    if decision.reason is FaceReason.POOR_QUALITY:
        reasons = [r.value for r in decision.quality_reasons]
        raise PoorQualityError(f"face fails the quality gate ({', '.join(reasons)})", reasons)
    if decision.reason is FaceReason.LIVENESS_FAILED:
        code = decision.liveness or "liveness_failed"
        raise LivenessFailedError(f"face fails the presentation-attack check ({code})", [code])
    if decision.reason not in (FaceReason.OK, FaceReason.NOT_RECOGNIZED):
        # A challenge or a gate's refusal needs a gate device: not an operator's request.
        raise ValueError(f"unexpected reason {decision.reason.value} for an operator's check")
