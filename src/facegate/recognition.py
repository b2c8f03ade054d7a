"""Enrollment, 1:1 verification and 1:N identification: pipeline + store + matcher + audit.

The one place where an image becomes a decision, shared by the CLI and (later) the web
service. Images are decoded, used and dropped: nothing here writes an image anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.errors import FacegateError, NotFoundError, PoorQualityError
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
from facegate.vision.record import Embedding, Face, QualityReason

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


def enroll_images(
    store: Store,
    pipeline: FacePipeline,
    subject_id: str,
    sources: Sequence[ImageSource | RGBImage],
    actor: str,
    max_pixels: int,
    on_image_done: Callable[[], None] | None = None,
) -> list[str]:
    """Enroll one template per image (encoded, or already decoded), all or none.

    Each image must show exactly one face (:attr:`Selection.SINGLE`) that passes the quality
    gate; otherwise nothing is stored and the error names the image and the reasons.
    Consent is checked by the store inside the same transaction as the insert.

    Returns:
        The new template ids.
    """
    if not sources:
        raise ValueError("no images to enroll")
    # Face data of a subject without consent must not even be computed, so
    # check before the pipeline runs; the store checks again inside the insert's transaction.
    store.check_enrollment_allowed(subject_id)
    faces: list[Face] = []
    for index, source in enumerate(sources):
        label = str(source) if isinstance(source, Path) else f"image {index + 1}"
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
            exc.args = (f"{label}: {exc}",)
            raise
        faces.append(face)
        if on_image_done is not None:
            on_image_done()
    embeddings = [_embedding(f) for f in faces]
    qualities = [f.quality.score if f.quality else 0.0 for f in faces]
    return store.enroll(subject_id, embeddings, pipeline.embedding_model, qualities, actor=actor)


@dataclass(frozen=True, slots=True)
class _Probe:
    """A probe face ready for matching, and the threshold of the chosen operating point."""

    embedding: Embedding
    threshold: float
    detail: dict[str, str]
    reasons: tuple[QualityReason, ...]


def _probe(
    pipeline: FacePipeline,
    registry: ModelRegistry,
    source: ImageSource,
    max_pixels: int,
    point: OperatingPoint,
) -> _Probe:
    point = OperatingPoint(point)
    threshold = operating_point(registry.entry(pipeline.embedding_model), point).threshold
    face = pipeline.subject(load_image(source, max_pixels=max_pixels), Selection.LARGEST)
    reasons = face.quality.reasons if face.quality else ()
    detail = {"operating_point": point.value, "quality_reasons": ",".join(r.value for r in reasons)}
    return _Probe(_embedding(face), threshold, detail, reasons)


def _embedding(face: Face) -> Embedding:
    if face.embedding is None:
        raise ValueError("the pipeline has no embedding stage")
    return face.embedding


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
    """1:1: is the largest face in the image ``subject_id``? The decision is audited.

    Raises:
        NotFoundError: unknown or deleted subject, or one with no enrolled template (a
            "no match" would wrongly suggest the face was compared).
    """
    subject = store.get_subject(subject_id)
    probe = _probe(pipeline, registry, source, max_pixels, point)
    templates = store.load_subject_templates(
        subject_id, pipeline.embedding_model, actor=actor, purpose="verify"
    )
    if len(templates) == 0:
        raise NotFoundError(f"subject {subject_id} has no enrolled face template")
    result = verify(probe.embedding, templates, probe.threshold)
    event = store.record_decision(
        site_code=subject.site_code,
        subject_id=subject_id,
        actor=actor,
        action="decision.verify",
        outcome=result.decision.value,
        detail=probe.detail,
    )
    return VerifyResult(subject_id, result.decision, OperatingPoint(point), probe.reasons, event)


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
    store.get_site(site_code)
    probe = _probe(pipeline, registry, source, max_pixels, point)
    gallery = store.load_gallery(
        site_code, pipeline.embedding_model, actor=actor, purpose="identify"
    )
    result = identify(probe.embedding, gallery, probe.threshold)
    event = store.record_decision(
        site_code=site_code,
        subject_id=result.subject_id,
        actor=actor,
        action="decision.identify",
        outcome=result.outcome.value,
        detail=probe.detail,
    )
    return IdentifyResult(
        result.outcome,
        result.subject_id,
        OperatingPoint(point),
        probe.reasons,
        result.gallery_subjects,
        event,
    )
