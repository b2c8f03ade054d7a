"""Typed errors. Every failure a user can cause maps to one of these, never to a bare crash.

Each error carries a stable machine-readable ``code`` (used by ``--json`` output and, later,
by the web service's error bodies) and an ``exit_code`` for the CLI.
"""

from __future__ import annotations

from datetime import datetime


class FacegateError(Exception):
    """Base class of every error facegate raises on purpose.

    ``reason`` (optional, stable) tells apart the causes one ``code`` covers, e.g.
    ``PolicyError(..., reason="gate_needs_non_face")``; pages word each one. ``until``
    (optional) is when the refusal ends, e.g. a locked account's lock-out; the error body
    carries it as an ISO time so a page can say until when.
    """

    code = "facegate_error"
    exit_code = 1

    def __init__(
        self, *args: object, reason: str | None = None, until: datetime | None = None
    ) -> None:
        super().__init__(*args)
        self.reason = reason
        self.until = until


class ImageError(FacegateError):
    """The input is not an image facegate can use."""

    code = "image_invalid"
    exit_code = 3


class CorruptImageError(ImageError):
    code = "image_corrupt"


class ImageTooLargeError(ImageError):
    """More pixels than the configured limit (guards against decompression bombs)."""

    code = "image_too_large"


class UnsupportedImageError(ImageError):
    code = "image_unsupported"


class FaceError(FacegateError):
    """The image holds no usable face, or more than one where one is required."""

    code = "face_error"
    exit_code = 4


class NoFaceError(FaceError):
    code = "no_face"


class MultipleFacesError(FaceError):
    code = "multiple_faces"


class PoorQualityError(FaceError):
    """The face failed the quality gate; ``reasons`` lists the reason codes."""

    code = "poor_quality"

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


class LivenessFailedError(FaceError):
    """The face failed the liveness check an operator's check asked for; ``reasons`` holds
    the liveness outcome code (e.g. ``passive_attack``)."""

    code = "liveness_failed"

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


class ModelError(FacegateError):
    code = "model_error"
    exit_code = 5


class ModelIntegrityError(ModelError):
    """A model file's SHA-256 differs from the registry's: refuse to load it."""

    code = "model_integrity"


class UnknownModelError(ModelError):
    code = "model_unknown"


class StoreError(FacegateError):
    code = "store_error"
    exit_code = 6


class NotFoundError(StoreError):
    code = "not_found"


class AlreadyExistsError(StoreError):
    code = "already_exists"


class ConsentRequiredError(StoreError):
    """Face processing was attempted for a subject without a recorded consent."""

    code = "consent_required"


class RenewalRequiredError(ConsentRequiredError):
    """The consent was given for a notice that has since widened purpose, method or scope."""

    code = "consent_renewal_required"


class GuardianRequiredError(ConsentRequiredError):
    """A subject under 14 needs a recorded guardian, and consent given by that guardian."""

    code = "guardian_required"


class AssessmentRequiredError(StoreError):
    """The site has no personal-information impact assessment on record (R-30)."""

    code = "assessment_required"


class PolicyError(StoreError):
    """A configuration or request that a compliance rule forbids (e.g. a face-only gate)."""

    code = "policy_refused"


class InvalidRecordError(StoreError):
    """A value handed to the store is malformed (empty name, wrong embedding shape, bad id)."""

    code = "invalid_record"


class KeyMaterialError(StoreError):
    """Key material is missing, malformed or unsafely stored."""

    code = "key_error"


class IntegrityViolationError(StoreError):
    """Stored data failed an integrity check (ciphertext tampered, moved, or audit chain broken)."""

    code = "integrity_violation"


class FileSystemError(FacegateError):
    """A file or directory facegate needs cannot be read or written."""

    code = "filesystem_error"
    exit_code = 9


class MissingDependencyError(FacegateError):
    """An optional extra (e.g. ``facegate[eval]``) is needed for this command."""

    code = "missing_dependency"
    exit_code = 2


class ConfigError(FacegateError):
    code = "config_error"
    exit_code = 2


class DatasetError(FacegateError):
    """A benchmark dataset is missing or malformed; the message names the file and line."""

    code = "dataset_error"
    exit_code = 7


class AccessError(FacegateError):
    """Base of the web layer's refusals: who is asking, and may they."""

    code = "access_error"
    exit_code = 12


class AuthenticationError(AccessError):
    """No valid credentials: wrong password, unknown or expired session or device key.

    The message never says which part was wrong."""

    code = "unauthenticated"


class PermissionDeniedError(AccessError):
    """Authenticated, but this role or site may not do this."""

    code = "forbidden"


class RateLimitedError(AccessError):
    """Too many attempts; ``retry_after`` seconds until the next one is accepted."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PipelineBusyError(FacegateError):
    """Every face pipeline stayed busy for the whole bounded wait; try again in
    ``retry_after`` seconds. Only the service waits for one (the CLI has its own)."""

    code = "pipeline_busy"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
