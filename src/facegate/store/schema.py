"""ORM models. The schema itself is created only by the Alembic migrations next to this file.

Privacy rules the database enforces on its own, whatever code writes to it:

- a template cannot exist without a consent of the same subject (NOT NULL + composite FK);
- no column can hold a raw image: the only binary columns have fixed lengths that fit a
  nonce, a wrapped 32-byte key, or one encrypted 128-float template;
- a deleted subject is a tombstone with its name cleared (CHECK);
- a gate always accepts at least one non-face credential (CHECK, R-10);
- the audit log, deletion receipts and published notices are append-only, and an impact
  assessment cannot be deleted before its retention ends (triggers in the migrations);
- subjects' data keys are not here at all: they live in the separate key store
  (``keystore.py``), so a backup of this database holds nothing that decrypts a template
  once the key is destroyed (R-23).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from facegate.store.crypto import NONCE_BYTES, TEMPLATE_CIPHERTEXT_BYTES, WRAPPED_KEY_BYTES
from facegate.store.records import (
    ConsentMethod,
    CredentialKind,
    CredentialStatus,
    DeletionReason,
    GuardianRelation,
    IncidentKind,
    LivenessLevel,
    SubjectKind,
    SubjectStatus,
)

ID_LENGTH = 32
HASH_LENGTH = 64
NAME_LENGTH = 200
RESIDENT_NUMBER_DIGITS = 6
#: Where a resident lives: short labels, e.g. building "12", unit "3", household "1202".
BUILDING_LENGTH = 16
UNIT_LENGTH = 16
HOUSEHOLD_LENGTH = 32
ACTOR_LENGTH = 100
MODEL_NAME_LENGTH = 64
NOTICE_VERSION_LENGTH = 32
SITE_CODE_LENGTH = 64
GATE_CODE_LENGTH = 64
EVIDENCE_LENGTH = 200
#: argon2 encoded hashes are about 100 characters.
SECRET_HASH_LENGTH = 200
VISITOR_LABEL_LENGTH = 40
TIMEZONE_LENGTH = 64

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A random UUID4 as 32 lowercase hex characters: ids never encode who someone is."""
    return uuid.uuid4().hex


def new_resident_number() -> str:
    """Six random digits (no leading zero): typed at the PIN pad, it encodes nobody."""
    return str(100_000 + secrets.randbelow(900_000))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite itself stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store keeps only timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_StoreEnum = (
    SubjectKind
    | SubjectStatus
    | ConsentMethod
    | CredentialKind
    | CredentialStatus
    | DeletionReason
    | GuardianRelation
    | IncidentKind
    | LivenessLevel
)


def _enum(enum_class: type[_StoreEnum], name: str, length: int = 16) -> Enum:
    # Stored as the enum's value in a VARCHAR with a CHECK: portable, and readable in raw SQL.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 (SQLAlchemy reads it)


class Site(Base):
    """A residential community."""

    __tablename__ = "site"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(SITE_CODE_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The organisation that runs the site; R-31 counts enrolled people per operator.
    operator: Mapped[str] = mapped_column(String(NAME_LENGTH))
    #: Keep redacted frames of disputed entries (R-21, R-25); off unless the site enables it.
    keep_disputed_frames: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Days after move-out before a resident's face data is purged (R-24).
    resident_retention_days: Mapped[int] = mapped_column(Integer, default=30)
    #: Days a kept frame lives (R-24).
    snapshot_retention_days: Mapped[int] = mapped_column(Integer, default=7)
    #: Bumped by every write that changes which templates are usable: the gallery cache key.
    gallery_version: Mapped[int] = mapped_column(Integer, default=0)


class Notice(Base):
    """One published version of a site's processing rules (R-01). Immutable (triggers)."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("site_id", "version"),
        UniqueConstraint("site_id", "seq"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    version: Mapped[str] = mapped_column(String(NOTICE_VERSION_LENGTH))
    #: 1, 2, 3... per site, in publication order.
    seq: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    #: Canonical JSON of the notice content (see ``privacy.notice.NoticeContent``).
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    #: True when this version widened purpose, method or scope over the previous one.
    widens: Mapped[bool] = mapped_column(Boolean)


class Subject(Base):
    """A person who may pass the gate; after deletion a tombstone without personal fields."""

    __tablename__ = "subject"
    __table_args__ = (
        CheckConstraint(
            "(status = 'active' AND display_name IS NOT NULL AND deleted_at IS NULL)"
            " OR (status = 'deleted' AND display_name IS NULL AND deleted_at IS NOT NULL)",
            name="tombstone",
        ),
        # Visitors and temporary residents expire by themselves.
        CheckConstraint(
            "kind = 'resident' OR expires_at IS NOT NULL OR status = 'deleted'",
            name="expiring_kind_has_end",
        ),
        Index(None, "site_id", "resident_number", unique=True),
        # The console lists and filters a site's residents by where they live (0007).
        Index(None, "site_id", "building", "unit", "household"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    #: What a resident types at the PIN pad instead of the 32-hex id (R-11): six random
    #: digits, unique within the site, derived from nothing personal. Kept on the tombstone
    #: (it names no one) so that it is never handed to someone else. Every row has one since
    #: revision 0004; the column is nullable only because SQLite adds columns that way.
    resident_number: Mapped[str | None] = mapped_column(String(RESIDENT_NUMBER_DIGITS))
    display_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind, "subject_kind"))
    status: Mapped[SubjectStatus] = mapped_column(
        _enum(SubjectStatus, "subject_status"), default=SubjectStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    #: The day a child turns 14 (R-04); NULL for adults. The birth date itself is not kept.
    minor_until: Mapped[date | None] = mapped_column(Date)
    moved_out_at: Mapped[datetime | None]
    #: When a visitor's or temporary resident's record expires by itself (R-24).
    expires_at: Mapped[datetime | None]
    #: Where the subject lives (0007); optional, never more than a building/unit/room label.
    building: Mapped[str | None] = mapped_column(String(BUILDING_LENGTH))
    unit: Mapped[str | None] = mapped_column(String(UNIT_LENGTH))
    household: Mapped[str | None] = mapped_column(String(HOUSEHOLD_LENGTH))


#: The console's list order (``store.residents``): building, unit, household as people count
#: them (shorter label first: "2" before "10"), then name. An index on exactly these
#: expressions serves any page of a 20,000-resident site without sorting.
SUBJECT_LIST_ORDER = (
    func.length(Subject.building),
    Subject.building,
    func.length(Subject.unit),
    Subject.unit,
    func.length(Subject.household),
    Subject.household,
    Subject.display_name,
    Subject.id,
)
# With status first and the filtered columns last, the list, its count and its search and
# filters (``store.residents``) read the index alone, never the table.
Index(
    "ix_subject_list_order",
    Subject.site_id,
    Subject.status,
    *SUBJECT_LIST_ORDER,
    Subject.resident_number,
    Subject.moved_out_at,
    Subject.minor_until,
    Subject.kind,
)


class Guardian(Base):
    """The recorded guardian of a subject under 14 (R-04). Name cleared on deletion."""

    __tablename__ = "guardian"
    __table_args__ = (UniqueConstraint("id", "subject_id"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    relation: Mapped[GuardianRelation] = mapped_column(_enum(GuardianRelation, "guardian_relation"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]


class Consent(Base):
    """A recorded written consent to face processing (R-03). Holds no face data."""

    __tablename__ = "consent"
    # The target of template's composite FK: a template may only cite its own subject's consent.
    __table_args__ = (UniqueConstraint("id", "subject_id"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    notice_version: Mapped[str] = mapped_column(String(NOTICE_VERSION_LENGTH))
    given_at: Mapped[datetime]
    method: Mapped[ConsentMethod] = mapped_column(_enum(ConsentMethod, "consent_method"))
    given_by: Mapped[str] = mapped_column(String(NAME_LENGTH))
    collected_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    withdrawn_at: Mapped[datetime | None]
    # NULL only on rows migrated from revision 0001: such a consent is never usable.
    notice_id: Mapped[str | None] = mapped_column(ForeignKey("notice.id"), index=True)
    #: Every consent ends (R-07); NULL only on migrated rows.
    expires_at: Mapped[datetime | None]
    #: Reference to the signature image or the e-signature transaction (R-03).
    evidence_ref: Mapped[str | None] = mapped_column(String(EVIDENCE_LENGTH))
    #: Set when the consent was given by the subject's guardian (R-04).
    guardian_id: Mapped[str | None] = mapped_column(ForeignKey("guardian.id"))
    #: Set when a widening notice was published after this consent (R-06).
    renewal_required_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH))


class SubjectKey(Base):
    """Revision 0001 kept data keys here; ``Store.open`` moves any it finds to the key store
    and empties this table. Nothing writes to it any more."""

    __tablename__ = "subject_key"
    __table_args__ = (
        CheckConstraint(f"length(wrapped_key) = {WRAPPED_KEY_BYTES}", name="wrapped_key_length"),
    )

    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Template(Base):
    """One encrypted face template (AES-256-GCM under the subject's data key)."""

    __tablename__ = "template"
    __table_args__ = (
        ForeignKeyConstraint(["consent_id", "subject_id"], ["consent.id", "consent.subject_id"]),
        CheckConstraint(f"length(nonce) = {NONCE_BYTES}", name="nonce_length"),
        CheckConstraint(
            f"length(ciphertext) = {TEMPLATE_CIPHERTEXT_BYTES}", name="ciphertext_length"
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    #: Indexed: withdrawal and retention find templates by consent.
    consent_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Gate(Base):
    """A door or gate. The CHECK is R-10: no gate can be configured face-only."""

    __tablename__ = "gate"
    __table_args__ = (
        UniqueConstraint("site_id", "code"),
        CheckConstraint("accepts_card OR accepts_pin OR accepts_otp", name="non_face_credential"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    code: Mapped[str] = mapped_column(String(GATE_CODE_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    accepts_face: Mapped[bool] = mapped_column(Boolean)
    accepts_card: Mapped[bool] = mapped_column(Boolean)
    accepts_pin: Mapped[bool] = mapped_column(Boolean)
    accepts_otp: Mapped[bool] = mapped_column(Boolean)
    liveness: Mapped[LivenessLevel] = mapped_column(_enum(LivenessLevel, "liveness_level"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Credential(Base):
    """A non-face credential. Secrets are never stored in clear: a PIN as an argon2 hash, a
    card number or one-time code as a keyed hash (``lookup_hash``) so it can be found."""

    __tablename__ = "credential"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'pin' AND secret_hash IS NOT NULL)"
            " OR (kind IN ('card', 'otp') AND lookup_hash IS NOT NULL)",
            name="secret_present",
        ),
        CheckConstraint("kind != 'otp' OR expires_at IS NOT NULL", name="otp_expires"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    kind: Mapped[CredentialKind] = mapped_column(_enum(CredentialKind, "credential_kind"))
    status: Mapped[CredentialStatus] = mapped_column(
        _enum(CredentialStatus, "credential_status"), default=CredentialStatus.ACTIVE
    )
    lookup_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(SECRET_HASH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class GuessBackoff(Base):
    """Wrong PINs in a row from one source: a typed resident number (whether or not anyone
    has it) or a gate device. Keyed by a keyed hash, so a typed number is not kept."""

    __tablename__ = "guess_backoff"

    key: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]


class VisitorPass(Base):
    """A resident's one-time pass for a visitor: a one-time code (the ``credential`` row, kind
    otp, of the inviting resident) limited to some gates and a time window. The code is kept
    only as the credential's keyed hash; the visitor is at most a short label (R-12)."""

    __tablename__ = "visitor_pass"
    __table_args__ = (CheckConstraint("valid_from < valid_until", name="window_order"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    #: Erasing the resident deletes their credentials, and with them their passes.
    credential_id: Mapped[str] = mapped_column(
        ForeignKey("credential.id", ondelete="CASCADE"), unique=True
    )
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(VISITOR_LABEL_LENGTH))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VisitorPassGate(Base):
    """A gate a visitor pass opens."""

    __tablename__ = "visitor_pass_gate"

    pass_id: Mapped[str] = mapped_column(
        ForeignKey("visitor_pass.id", ondelete="CASCADE"), primary_key=True
    )
    gate_id: Mapped[str] = mapped_column(ForeignKey("gate.id"), primary_key=True)


class GateSchedule(Base):
    """A gate's weekly schedule: the time zone its windows are in. A gate without one lets
    every kind it accepts in at any time; a kind with no window in it likewise."""

    __tablename__ = "gate_schedule"

    gate_id: Mapped[str] = mapped_column(ForeignKey("gate.id"), primary_key=True)
    #: An IANA name (``Asia/Shanghai``): the windows are local wall-clock times there.
    timezone: Mapped[str] = mapped_column(String(TIMEZONE_LENGTH))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GateScheduleWindow(Base):
    """When one kind (face, card, pin, otp) may open a scheduled gate: on the weekdays in
    ``days`` (bit 0 Monday ... bit 6 Sunday), from ``start_minute`` to ``end_minute``
    (minutes after local midnight, end excluded)."""

    __tablename__ = "gate_schedule_window"
    __table_args__ = (
        CheckConstraint("kind IN ('face', 'card', 'pin', 'otp')", name="kind"),
        CheckConstraint("days > 0 AND days < 128", name="days"),
        CheckConstraint(
            "start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440",
            name="minutes",
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    gate_id: Mapped[str] = mapped_column(
        ForeignKey("gate_schedule.gate_id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    days: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)


class ImpactAssessment(Base):
    """A personal-information impact assessment record (R-30): kept at least three years."""

    __tablename__ = "impact_assessment"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    assessed_at: Mapped[datetime]
    assessor: Mapped[str] = mapped_column(String(NAME_LENGTH))
    summary: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the full assessment document, which is kept outside facegate.
    document_sha256: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    retain_until: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class DeletionReceiptRow(Base):
    """What a deletion destroyed, when and why (R-23). Append-only; holds no face data."""

    __tablename__ = "deletion_receipt"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    deleted_at: Mapped[datetime]
    reason: Mapped[DeletionReason] = mapped_column(_enum(DeletionReason, "deletion_reason"))
    requested_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    templates_deleted: Mapped[int] = mapped_column(Integer)
    credentials_deleted: Mapped[int] = mapped_column(Integer)
    snapshots_deleted: Mapped[int] = mapped_column(Integer)
    keys_destroyed: Mapped[int] = mapped_column(Integer)
    audit_event_id: Mapped[int] = mapped_column(Integer)
    #: False when only face data went (withdrawal, consent expiry) and the subject stays.
    subject_erased: Mapped[bool] = mapped_column(Boolean)


class Snapshot(Base):
    """A kept frame (disputed entry), bystanders blurred before writing (R-25). The image is
    an encrypted file under the data dir, with its own data key in the key store."""

    __tablename__ = "snapshot"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    subject_id: Mapped[str | None] = mapped_column(ForeignKey("subject.id"), index=True)
    gate_id: Mapped[str | None] = mapped_column(ForeignKey("gate.id"))
    taken_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(64))
    ciphertext_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    bystanders_redacted: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    """A detected leak, tamper or loss (R-28). ``detail`` holds no personal data."""

    __tablename__ = "incident"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"))
    detected_at: Mapped[datetime]
    kind: Mapped[IncidentKind] = mapped_column(_enum(IncidentKind, "incident_kind", 32))
    detail: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]


class FilingAlert(Base):
    """Raised once per operator when its enrolled people reach the CAC filing threshold."""

    __tablename__ = "filing_alert"

    operator: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    raised_at: Mapped[datetime]
    enrolled_people: Mapped[int] = mapped_column(Integer)
    due_by: Mapped[date] = mapped_column(Date)


#: Staff roles an account may hold (``accounts.Role`` less the resident), least first.
STAFF_ROLES = ("auditor", "operator", "admin")
ROLE_LENGTH = 16


class AdminAccount(Base):
    """A staff account (site administrator, front desk or auditor; ``role``). The password
    is an argon2id hash; lock-out after failures."""

    __tablename__ = "admin_account"
    __table_args__ = (UniqueConstraint("username"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    username: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(SECRET_HASH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    #: One of ``STAFF_ROLES`` (CHECK in migration 0008); accounts made before it are admins.
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH), default="admin", server_default="admin")


class IdempotencyRecord(Base):
    """The first answer to a create sent with an ``Idempotency-Key`` header, replayed to a
    retry of the same principal within ``api.idempotency.KEY_TTL``.

    ``status`` is NULL while the first request is still running. A one-time secret in the
    answer (a code, a device key, a password) is never kept: ``body`` stays NULL and
    ``secret`` is true, and a retry is told it was a duplicate instead.
    """

    __tablename__ = "idempotency_record"

    #: ``role:id`` of the session (or ``device:id``) that sent the key.
    principal: Mapped[str] = mapped_column(String(ACTOR_LENGTH), primary_key=True)
    key: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    #: Keyed hash of method, path, query, content type and body: the same key with another
    #: request is refused.
    fingerprint: Mapped[str] = mapped_column(String(HASH_LENGTH))
    created_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[bool] = mapped_column(Boolean, default=False)


class WebSession(Base):
    """A signed-in admin or resident. Only the SHA-256 of the bearer token is kept."""

    __tablename__ = "web_session"

    token_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    #: The admin account id, or the resident's subject id.
    principal_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SigninCode(Base):
    """A one-time code a resident signs in with (self-service). Stored as a keyed hash."""

    __tablename__ = "signin_code"

    lookup_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class GateDevice(Base):
    """A gate device (kiosk, terminal): one API key, stored as SHA-256, scoped to its gates."""

    __tablename__ = "gate_device"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    key_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class GateDeviceGate(Base):
    """Which gates a device may ask decisions for."""

    __tablename__ = "gate_device_gate"

    device_id: Mapped[str] = mapped_column(ForeignKey("gate_device.id"), primary_key=True)
    gate_id: Mapped[str] = mapped_column(ForeignKey("gate.id"), primary_key=True)


class AuditEvent(Base):
    """One link of the hash-chained audit log (R-27). Never holds names or face data."""

    __tablename__ = "audit_event"

    # Assigned as audit_head.last_id + 1, never by the database: the chain has no gaps.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    action: Mapped[str] = mapped_column(String(64))
    # No foreign keys: the log outlives every row it mentions.
    site_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    subject_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    #: Canonical JSON, exactly the bytes that were hashed.
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditHead(Base):
    """The single row naming the newest audit event, so a removed tail is noticed."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    #: ``SiteKey.seal_audit_head`` of (last_id, last_hash); NULL only before revision 0005
    #: sealed it, so a rewound head cannot be made to look authentic without the key.
    head_mac: Mapped[str | None] = mapped_column(String(HASH_LENGTH))


class RateLimitEvent(Base):
    """One counted event of a rate limit shared by every worker (``store.shared_state``).

    The key (a client address, a device id, a staff member) is kept only as its SHA-256;
    a row lives no longer than its limit's window (``expires_at``, seconds since the epoch).
    """

    __tablename__ = "rate_limit_event"
    __table_args__ = (
        Index("ix_rate_limit_event_limit_name_key_sha256_at", "limit_name", "key_sha256", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    limit_name: Mapped[str] = mapped_column(String(64))
    key_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH))
    at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class LivenessChallenge(Base):
    """An outstanding liveness challenge, shared by every worker (``store.shared_state``).

    Only the SHA-256 of the nonce is kept: a copy of the table answers no challenge. Times
    are seconds since the epoch; the row is deleted when redeemed (exactly once) or purged
    after its expiry and grace period.
    """

    __tablename__ = "liveness_challenge"

    nonce_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(ACTOR_LENGTH), index=True)
    gate: Mapped[str] = mapped_column(String(GATE_CODE_LENGTH))
    #: The movements' codes, comma-separated, in order.
    steps: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class OperatorAccount(Base):
    """A property company's account over every site it runs (``store.operator_accounts``):
    ``organisation`` equals ``Site.operator`` of those sites. Not a staff account: the
    staff role ``operator`` is a site's front desk."""

    __tablename__ = "operator_account"
    __table_args__ = (UniqueConstraint("username"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    organisation: Mapped[str] = mapped_column(String(NAME_LENGTH), index=True)
    username: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(SECRET_HASH_LENGTH))
    created_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]


class OperatorSession(Base):
    """A signed-in operator account. Only the SHA-256 of the bearer token is kept; it
    belongs to no site (``web_session`` rows do), so it has its own table."""

    __tablename__ = "operator_session"

    token_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("operator_account.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class GalleryChange(Base):
    """One bump of ``Site.gallery_version`` and whose usable templates it changed
    (``store.gallery_updates``): NULL ``subject_id`` means anything may have changed. Old
    rows are pruned by ``queries.bump_gallery``; a gap makes the next load rebuild."""

    __tablename__ = "gallery_change"
    __table_args__ = (Index("ix_gallery_change_site_id_version", "site_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    version: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
