"""The key store's one table, in its own database file (see ``keystore.py``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from facegate.store.crypto import WRAPPED_KEY_BYTES
from facegate.store.schema import ID_LENGTH, NAMING_CONVENTION, UTCDateTime


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
