"""Enrollment, 1:1 verification and 1:N identification: pipeline + store + matcher + audit.

The one place where an image becomes a decision, shared by the CLI and (later) the web
service. Images are decoded, used and dropped: nothing here writes an image anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from facegate.errors import ConsentRequiredError, FaceError, PoorQualityError
from facegate.matching import (
    DEFAULT_OPERATING_POINT,
    OperatingPoint,
    Outcome,
    identify,
    operating_point,
    verify,
)
from facegate.matching.decide import Decision
from facegate.models.registry import ModelRegistry
from facegate.store import Store
from facegate.vision.image import RGBImage, load_image
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Face, QualityReason

ImageSource = bytes | Path


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What a caller may see of a 1:1 decision: no score, no template."""

    subject_id: str
    decision: Decision
    operating_point: OperatingPoint
    quality_reasons: tuple[QualityReason, ...]
    audit_event_id: int


@dataclass(frozen=True, slots=True)
class IdentifyResult:
    """What a caller may see of a 1:N decision: no score, no template."""

    outcome: Outcome
    subject_id: str | None
    operating_point: OperatingPoint
    quality_reasons: tuple[QualityReason, ...]
    gallery_subjects: int
    audit_event_id: int


def _decode(source: ImageSource, max_pixels: int) -> RGBImage:
    return load_image(source, max_pixels=max_pixels)


def enroll_images(
    store: Store,
    pipeline: FacePipeline,
    subject_id: str,
    sources: Sequence[ImageSource],
    actor: str,
    max_pixels: int,
) -> list[str]:
    """Enroll one template per image, all or none.

    Each image must show exactly one face (:attr:`Selection.SINGLE`) that passes the quality
    gate; otherwise nothing is stored and the error names the image and the reasons.
    Consent is checked by the store inside the same transaction as the insert.

    Returns:
        The new template ids.
    """
    if not sources:
        raise ValueError("no images to enroll")
    # Face data of a subject without consent must not even be computed, so check
    # before the pipeline runs; the store checks again inside the insert's transaction.
    if not store.get_subject(subject_id).has_active_consent:
        raise ConsentRequiredError(f"subject {subject_id} has no active consent to face processing")
    faces: list[Face] = []
    for index, source in enumerate(sources):
        label = str(source) if isinstance(source, Path) else f"image {index + 1}"
        try:
            face = pipeline.subject(_decode(source, max_pixels), Selection.SINGLE)
        except FaceError as exc:
            raise type(exc)(f"{label}: {exc}") from exc
        if face.quality is None or not face.quality.passed:
            reasons = [r.value for r in face.quality.reasons] if face.quality else []
            raise PoorQualityError(
                f"{label}: face fails the quality gate ({', '.join(reasons)})", reasons
            )
        faces.append(face)
    embeddings = [f.embedding for f in faces if f.embedding is not None]
    qualities = [f.quality.score for f in faces if f.quality is not None]
    return store.enroll(subject_id, embeddings, pipeline.embedding_model, qualities, actor=actor)


def verify_image(
    store: Store,
    pipeline: FacePipeline,
    registry: ModelRegistry,
    subject_id: str,
    source: ImageSource,
    actor: str,
    max_pixels: int,
    point: OperatingPoint = DEFAULT_OPERATING_POINT,
) -> VerifyResult:
    """1:1: is the largest face in the image ``subject_id``? The decision is audited."""
    threshold = operating_point(registry.entry(pipeline.embedding_model), point).threshold
    face = pipeline.subject(_decode(source, max_pixels), Selection.LARGEST)
    templates = store.load_subject_templates(
        subject_id, pipeline.embedding_model, actor=actor, purpose="verify"
    )
    assert face.embedding is not None  # the pipeline's last stage embeds
    result = verify(face.embedding, templates, threshold)
    reasons = face.quality.reasons if face.quality else ()
    event = store.record_decision(
        site_code=store.get_subject(subject_id).site_code,
        subject_id=subject_id,
        actor=actor,
        action="decision.verify",
        outcome=result.decision.value,
        detail={
            "operating_point": point.value,
            "quality_reasons": ",".join(r.value for r in reasons),
        },
    )
    return VerifyResult(subject_id, result.decision, point, reasons, event)


def identify_image(
    store: Store,
    pipeline: FacePipeline,
    registry: ModelRegistry,
    site_code: str,
    source: ImageSource,
    actor: str,
    max_pixels: int,
    point: OperatingPoint = DEFAULT_OPERATING_POINT,
) -> IdentifyResult:
    """1:N: who among the site's consenting subjects is this, or UNKNOWN. Audited."""
    threshold = operating_point(registry.entry(pipeline.embedding_model), point).threshold
    face = pipeline.subject(_decode(source, max_pixels), Selection.LARGEST)
    gallery = store.load_gallery(
        site_code, pipeline.embedding_model, actor=actor, purpose="identify"
    )
    assert face.embedding is not None
    result = identify(face.embedding, gallery, threshold)
    reasons = face.quality.reasons if face.quality else ()
    event = store.record_decision(
        site_code=site_code,
        subject_id=result.subject_id,
        actor=actor,
        action="decision.identify",
        outcome=result.outcome.value,
        detail={
            "operating_point": point.value,
            "quality_reasons": ",".join(r.value for r in reasons),
        },
    )
    return IdentifyResult(
        result.outcome, result.subject_id, point, reasons, result.gallery_subjects, event
    )
