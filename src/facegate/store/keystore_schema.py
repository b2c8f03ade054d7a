"""The key store's tables, in their own database file (see ``keystore.py``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from facegate.store.crypto import WRAPPED_KEY_BYTES
from facegate.store.schema import ID_LENGTH, NAMING_CONVENTION, SECRET_HASH_LENGTH, UTCDateTime


class KeyOwnerKind(StrEnum):
    SUBJECT = "subject"
    #: A kept frame has its own key, so it can expire alone.
    SNAPSHOT = "snapshot"


class ErasedKind(StrEnum):
    """What an erasure-log entry records as erased."""

    #: A whole subject (deletion, move-out, expiry).
    SUBJECT = "subject"
    #: A consent and the templates under it (withdrawal).
    CONSENT = "consent"


class RevokedKind(StrEnum):
    """What a revocation-log entry records as revoked."""

    #: A card, PIN or one-time code revoked or replaced, or a one-time code spent.
    CREDENTIAL = "credential"
    DEVICE = "device"
    #: An administrator's password replaced: the old one must not open again.
    ADMIN_PASSWORD = "admin_password"  # noqa: S105 (a kind of entry, not a password)
    #: A resident moved out: their entry ends.
    MOVE_OUT = "move_out"


class KeyBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 (SQLAlchemy reads it)


class DataKey(KeyBase):
    """A data key wrapped under the site key. Deleting the row crypto-shreds its owner."""

    __tablename__ = "data_key"
    __table_args__ = (
        CheckConstraint(f"length(wrapped_key) = {WRAPPED_KEY_BYTES}", name="wrapped_key_length"),
    )

    owner_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    owner_kind: Mapped[KeyOwnerKind] = mapped_column(
        Enum(
            KeyOwnerKind,
            name="key_owner_kind",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
        )
    )
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ErasureLog(KeyBase):
    """Ids of subjects and consents already erased, kept beside the keys, never backed up.

    Random ids and a reason code only, no personal data. A restored backup still holds
    these subjects and consents; restoring replays their erasure (``store.reconcile``), so a
    restore never brings back a deleted person or a withdrawn consent.
    """

    __tablename__ = "erasure_log"

    owner_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    owner_kind: Mapped[ErasedKind] = mapped_column(
        Enum(
            ErasedKind,
            name="erased_kind",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
        )
    )
    site_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    reason: Mapped[str] = mapped_column(String(16))
    erased_at: Mapped[datetime]


class RevocationLog(KeyBase):
    """Revocations a restored backup must not undo, kept beside the keys, never backed up.

    One row per revoked thing (the newest password for an administrator). Random ids, a
    status and a time; for a replaced admin password the new argon2id hash, the same value
    the main database holds, so a restore brings back the password in use and not the one
    it replaced (``store.revocations``).
    """

    __tablename__ = "revocation_log"

    target_kind: Mapped[RevokedKind] = mapped_column(
        Enum(
            RevokedKind,
            name="revoked_kind",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
        ),
        primary_key=True,
    )
    target_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    #: What it became: ``revoked`` or ``used`` for a credential, ``revoked`` for a device,
    #: ``replaced`` for a password, ``moved_out`` for a resident.
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    password_hash: Mapped[str | None] = mapped_column(String(SECRET_HASH_LENGTH))
