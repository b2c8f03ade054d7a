"""The records the store hands out: frozen values, never ORM objects, never key material.

None of them carries a template except ``Gallery``, which exists to feed the matcher.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from facegate.vision.record import EMBEDDING_DIM as EMBEDDING_DIM


class SubjectKind(StrEnum):
    RESIDENT = "resident"
    #: Expires by itself at ``expires_at`` (R-24).
    VISITOR = "visitor"
    #: A temporary resident (tenant on a short lease, worker): expires by itself too.
    TEMPORARY = "temporary"


#: Kinds whose records must carry an end date and are purged when it passes.
EXPIRING_KINDS = frozenset({SubjectKind.VISITOR, SubjectKind.TEMPORARY})


class SubjectStatus(StrEnum):
    ACTIVE = "active"
    #: A tombstone: personal fields cleared, templates and key destroyed.
    DELETED = "deleted"


class ConsentMethod(StrEnum):
    """How a written consent was given (R-03)."""

    SIGNATURE = "signature"
    E_SIGNATURE = "e_signature"


class GuardianRelation(StrEnum):
    PARENT = "parent"
    LEGAL_GUARDIAN = "legal_guardian"


class CredentialKind(StrEnum):
    """Non-face ways in (R-10). The face is not a credential row: it is the template."""

    CARD = "card"
    PIN = "pin"
    #: A one-time code sent to a phone or shown as a QR code; single use, short-lived.
    OTP = "otp"


class CredentialStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    #: A one-time code that was spent.
    USED = "used"


class LivenessLevel(StrEnum):
    """How much liveness a gate demands before a face opens it (filled by the liveness issue)."""

    PASSIVE = "passive"
    PASSIVE_ACTIVE = "passive_active"


class DeletionReason(StrEnum):
    """Why a subject's data was erased (R-23). Values are stable codes for receipts."""

    WITHDRAWAL = "withdrawal"
    MOVE_OUT = "move_out"
    EXPIRY = "expiry"
    REQUEST = "request"
    #: Erased again by reconcile: a restored backup brought back data that had already been
    #: erased, or whose key no longer exists (see ``store.reconcile``).
    RECONCILE = "reconcile"


class IncidentKind(StrEnum):
    """Detected leak, tamper or loss (R-28)."""

    AUDIT_CHAIN_BROKEN = "audit_chain_broken"
    MODEL_INTEGRITY = "model_integrity"
    TEMPLATE_INTEGRITY = "template_integrity"
    KEY_MISMATCH = "key_mismatch"
    #: One gate device sent many near-identical refused faces: a decision-only attack.
    PROBING = "probing"


class Purpose(StrEnum):
    """Declared purposes of face processing in a notice (R-01). Widening needs new consent."""

    GATE_ENTRY = "gate_entry"
    UNIT_DOOR = "unit_door"
    DISPUTE_REVIEW = "dispute_review"


class ProcessingMethod(StrEnum):
    VERIFY_1_1 = "verify_1_1"
    IDENTIFY_1_N = "identify_1_n"
    LIVENESS = "liveness"
    KEEP_DISPUTED_FRAMES = "keep_disputed_frames"


class DataCategory(StrEnum):
    """What a notice says is processed: its scope."""

    FACE_TEMPLATE = "face_template"
    ACCESS_EVENTS = "access_events"
    DISPUTED_FRAMES = "disputed_frames"
    NON_FACE_CREDENTIALS = "non_face_credentials"


@dataclass(frozen=True, slots=True)
class SiteInfo:
    id: str
    code: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    """A subject's metadata. ``display_name`` is None once the subject is deleted."""

    id: str
    site_code: str
    display_name: str | None
    kind: SubjectKind
    status: SubjectStatus
    created_at: datetime
    deleted_at: datetime | None
    #: True while a usable consent allows face processing.
    has_active_consent: bool
    template_count: int
    #: Under 14 today (R-04): consent and withdrawal go through the guardian.
    minor: bool = False
    moved_out_at: datetime | None = None
    expires_at: datetime | None = None
    #: Six digits typed at the PIN pad instead of ``id`` (R-11); unique within the site.
    resident_number: str | None = None
    #: Where the subject lives; each optional.
    building: str | None = None
    unit: str | None = None
    household: str | None = None
    #: The day a child turns 14 (R-04); None for adults.
    minor_until: date | None = None


@dataclass(frozen=True, slots=True)
class DeletionReceipt:
    """What a deletion destroyed, when and why (R-23). Holds no face data.

    ``subject_erased`` is False for a withdrawal that erased the face data but kept the
    subject (who still enters with a card or PIN, R-08).
    """

    id: str
    subject_id: str
    site_code: str
    deleted_at: datetime
    reason: DeletionReason
    requested_by: str
    subject_erased: bool
    templates_deleted: int
    credentials_deleted: int
    snapshots_deleted: int
    #: Data keys destroyed in the key store (crypto-shredding): this is what makes copies
    #: in old backups undecryptable.
    keys_destroyed: int
    #: The audit event that records this deletion.
    audit_event_id: int

    @property
    def key_destroyed(self) -> bool:
        return self.keys_destroyed > 0


@dataclass(frozen=True)
class Gallery:
    """Decrypted templates of one site for one model, ready for 1:N matching.

    ``embeddings`` is float32 of shape (N, 128); ``owners`` is int64 of shape (N,), where
    ``owners[i]`` indexes ``subject_ids`` for row ``i``. Both arrays are read-only.
    An empty gallery has N = 0 and ``subject_ids == ()``.
    """

    subject_ids: tuple[str, ...]
    #: Not in the repr: a gallery in a log line or a traceback would be face data there.
    embeddings: npt.NDArray[np.float32] = field(repr=False)
    owners: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        embeddings = np.array(self.embeddings, dtype=np.float32, copy=True)
        owners = np.array(self.owners, dtype=np.int64, copy=True)
        if embeddings.ndim != 2 or embeddings.shape[1] != EMBEDDING_DIM:
            raise ValueError(
                f"embeddings must have shape (N, {EMBEDDING_DIM}), got {embeddings.shape}"
            )
        if owners.shape != (embeddings.shape[0],):
            raise ValueError(f"owners must have shape ({embeddings.shape[0]},), got {owners.shape}")
        if owners.size and (owners.min() < 0 or owners.max() >= len(self.subject_ids)):
            raise ValueError("owners must index subject_ids")
        embeddings.setflags(write=False)
        owners.setflags(write=False)
        object.__setattr__(self, "embeddings", embeddings)
        object.__setattr__(self, "owners", owners)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def excluding(self, subject_ids: Collection[str]) -> Gallery:
        """The same gallery without these subjects' templates."""
        dropped = set(subject_ids)
        kept = [i for i, subject in enumerate(self.subject_ids) if subject not in dropped]
        renumber = np.full(len(self.subject_ids), -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        owners = renumber[self.owners]
        rows = owners >= 0
        return Gallery(
            tuple(self.subject_ids[i] for i in kept), self.embeddings[rows], owners[rows]
        )


@dataclass(frozen=True, slots=True)
class GateInfo:
    """A gate (door) and the credentials it accepts. At least one is not the face (R-10)."""

    id: str
    site_code: str
    code: str
    name: str
    accepts_face: bool
    accepts_card: bool
    accepts_pin: bool
    accepts_otp: bool
    liveness: LivenessLevel
    created_at: datetime

    def accepts(self, kind: CredentialKind) -> bool:
        """Whether a non-face credential of ``kind`` opens this gate."""
        return {
            CredentialKind.CARD: self.accepts_card,
            CredentialKind.PIN: self.accepts_pin,
            CredentialKind.OTP: self.accepts_otp,
        }[kind]


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    """A non-face credential's metadata: never the card number, PIN, code or any hash."""

    id: str
    subject_id: str
    kind: CredentialKind
    status: CredentialStatus
    created_at: datetime
    expires_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedOtp:
    """A new one-time code. ``code`` exists only here, once: the store keeps a keyed hash."""

    credential_id: str
    subject_id: str
    code: str = field(repr=False)
    expires_at: datetime


class GateOutcome(StrEnum):
    """What a gate does with a presented credential."""

    OPEN = "open"
    DENY = "deny"
    #: This credential cannot open now (locked, expired, not accepted here): use another.
    TRY_ANOTHER = "try_another"


class CredentialReason(StrEnum):
    """Why a credential decision came out as it did. Stable codes for devices and the audit."""

    OK = "ok"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    #: Also the answer for an unknown subject or one without a PIN, so probes learn nothing.
    WRONG_PIN = "wrong_pin"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    #: Too many wrong PINs in a row from this resident number or this PIN pad: wait
    #: ``retry_after_s`` (the same for every number, known or not; ``store.backoff``).
    TOO_MANY_TRIES = "too_many_tries"
    GATE_DOES_NOT_ACCEPT = "gate_does_not_accept"
    SUBJECT_INACTIVE = "subject_inactive"
    #: The gate's weekly schedule does not let this kind in now (``store.schedules``).
    OUTSIDE_SCHEDULE = "outside_schedule"
    #: A visitor pass whose time window has not begun (``store.passes``).
    NOT_YET_VALID = "not_yet_valid"
    #: A visitor pass presented at a gate it was not made for.
    NOT_FOR_THIS_GATE = "not_for_this_gate"


@dataclass(frozen=True, slots=True)
class CredentialDecision:
    """The answer to a card, PIN or one-time code at a gate; audited as ``decision.credential``.

    ``subject_id`` is set only when the gate opens: a refusal does not say whose it was.
    """

    outcome: GateOutcome
    reason: CredentialReason
    gate_code: str
    kind: CredentialKind
    subject_id: str | None
    audit_event_id: int
    #: Seconds until the next PIN from this number or device is checked (``too_many_tries``).
    retry_after_s: int | None = None

    @property
    def opens(self) -> bool:
        return self.outcome is GateOutcome.OPEN


@dataclass(frozen=True, slots=True)
class SitePolicy:
    """A site's retention and kept-frame settings (R-21, R-24)."""

    site_code: str
    #: Days after move-out before a resident's data is purged.
    resident_retention_days: int
    #: Days a kept frame lives.
    snapshot_retention_days: int
    #: Whether redacted frames of disputed entries may be kept at all (off by default).
    keep_disputed_frames: bool


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one ``retention run`` erased (R-24). Each erasure also has its own receipt."""

    ran_at: datetime
    residents_purged: int
    visitors_expired: int
    consents_expired: int
    snapshots_expired: int
    receipts: tuple[DeletionReceipt, ...]

    @property
    def total(self) -> int:
        return (
            self.residents_purged
            + self.visitors_expired
            + self.consents_expired
            + self.snapshots_expired
        )


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A kept frame's metadata; the image itself only through ``Snapshots.read``."""

    id: str
    site_code: str
    subject_id: str | None
    gate_code: str | None
    taken_at: datetime
    expires_at: datetime
    reason: str
    #: Bystander faces blurred before the frame was written (R-25).
    bystanders_redacted: int


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """A backup of the main database (never of the key store)."""

    name: str
    path: Path
    created_at: datetime
    size_bytes: int


@dataclass(frozen=True, slots=True)
class RevocationReplay:
    """What a restore carried forward besides erasures: the revocations logged since the
    backup was taken, and the sign-out of everyone (``store.revocations``)."""

    #: Cards, PINs and one-time codes revoked or replaced since the backup.
    credentials_revoked: int = 0
    #: One-time codes spent since the backup.
    codes_spent: int = 0
    devices_revoked: int = 0
    #: Administrators whose password changed since: the newer one is back in force.
    admin_passwords_restored: int = 0
    #: Residents who moved out since.
    moves_out: int = 0
    sessions_ended: int = 0
    signin_codes_spent: int = 0


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What restoring a backup did, including the erasures it replayed (R-23)."""

    source: Path
    #: The schema revision the backup was at (migrated to the newest after restoring).
    revision: str
    receipts: tuple[DeletionReceipt, ...]
    subjects_erased: int
    consents_withdrawn: int
    snapshots_removed: int
    keys_destroyed: int
    #: Revocations made since the backup, carried forward; everyone signed out.
    revocations: RevocationReplay
