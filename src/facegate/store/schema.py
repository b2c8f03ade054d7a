"""ORM models. The schema itself is created only by the Alembic migrations next to this file.

Privacy rules the database enforces on its own, whatever code writes to it:

- a template cannot exist without a consent of the same subject (NOT NULL + composite FK);
- no column can hold a raw image: the only binary columns have fixed lengths that fit a
  nonce, a wrapped 32-byte key, or one encrypted 128-float template;
- a deleted subject is a tombstone with its name cleared (CHECK);
- the audit log is append-only and extends ``audit_head`` (triggers in the migration).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from facegate.store.crypto import NONCE_BYTES, TEMPLATE_CIPHERTEXT_BYTES, WRAPPED_KEY_BYTES
from facegate.store.records import ConsentMethod, SubjectKind, SubjectStatus

ID_LENGTH = 32
HASH_LENGTH = 64
NAME_LENGTH = 200
ACTOR_LENGTH = 100
MODEL_NAME_LENGTH = 64
NOTICE_VERSION_LENGTH = 32
SITE_CODE_LENGTH = 64

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


def _enum(enum_class: type[SubjectKind | SubjectStatus | ConsentMethod], name: str) -> Enum:
    # Stored as the enum's value in a VARCHAR with a CHECK: portable, and readable in raw SQL.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
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


class Subject(Base):
    """A person who may pass the gate; after deletion a tombstone without personal fields."""

    __tablename__ = "subject"
    __table_args__ = (
        CheckConstraint(
            "(status = 'active' AND display_name IS NOT NULL AND deleted_at IS NULL)"
            " OR (status = 'deleted' AND display_name IS NULL AND deleted_at IS NOT NULL)",
            name="tombstone",
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind, "subject_kind"))
    status: Mapped[SubjectStatus] = mapped_column(
        _enum(SubjectStatus, "subject_status"), default=SubjectStatus.ACTIVE
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


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


class SubjectKey(Base):
    """A subject's data key, wrapped under the site key. Deleting the row crypto-shreds."""

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
    consent_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    model_name: Mapped[str] = mapped_column(String(MODEL_NAME_LENGTH))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    quality: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
