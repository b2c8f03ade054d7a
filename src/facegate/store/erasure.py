"""Deletion that reaches every copy (R-23), shared by deletion, withdrawal and retention.

Two steps, in this order, so that a crash between them never loses the erasure:

1. one database transaction deletes the templates (and, for a whole subject, credentials,
   sign-in codes, guardians' names, kept frames' rows, the name on the subject row, and
   ends their self-service sessions), writes the receipt and the audit event, and bumps
   the gallery version so cached galleries are dropped;
2. after the commit, ``finish`` notes the erased subject or withdrawn consent in the key
   store's erasure log (so a restored backup cannot bring them back), destroys the data keys
   (crypto-shredding: copies in old backups become undecryptable), removes kept frames'
   files and checkpoints the WAL so deleted rows do not linger there.

``finish`` destroys a key only while holding the database's write lock and only if its owner
is still dead (a deleted subject, a subject left without templates, a kept frame whose row is
gone): an enrollment that slipped in after the commit keeps its key. If the process dies
between the two steps, ``store.reconcile`` (run on every open) does the same.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from facegate.store.accounts import Role, end_sessions
from facegate.store.audit import AuditAction
from facegate.store.keystore import Erased
from facegate.store.keystore_schema import ErasedKind
from facegate.store.queries import bump_gallery, count
from facegate.store.records import DeletionReason, DeletionReceipt, SubjectStatus
from facegate.store.schema import (
    Consent,
    Credential,
    DeletionReceiptRow,
    Guardian,
    IdempotencyRecord,
    SigninCode,
    Site,
    Snapshot,
    Subject,
    Template,
    VisitorPass,
    new_id,
)
from facegate.store.snapshot_files import snapshot_file

if TYPE_CHECKING:
    from facegate.store.service import Store

logger = logging.getLogger(__name__)

#: What an erased subject's consent rows keep of who signed: the fact, not the name.
ERASED_NAME = "[erased]"
#: Ids per ``IN (...)`` query: well under SQLite's limit on bound parameters.
ID_BATCH = 500


@dataclass(frozen=True, slots=True)
class PendingErasure:
    """What ``finish`` must do once the transaction has committed."""

    receipt: DeletionReceipt
    #: Keys to destroy if their owners are still dead after the commit.
    key_owners: tuple[str, ...]
    snapshot_ids: tuple[str, ...]
    #: Entries for the key store's erasure log.
    erased: tuple[Erased, ...] = ()


def erase_subject(
    session: Session,
    store: Store,
    subject: Subject,
    reason: DeletionReason,
    actor: str,
    now: datetime,
) -> PendingErasure:
    """Erase a whole subject, leaving a tombstone. The caller commits, then calls ``finish``."""
    templates = count(session, Template, Template.subject_id == subject.id)
    session.execute(delete(Template).where(Template.subject_id == subject.id))
    credentials = count(session, Credential, Credential.subject_id == subject.id)
    # Passes first: they name a visitor, and hang off the credentials.
    session.execute(delete(VisitorPass).where(VisitorPass.subject_id == subject.id))
    session.execute(delete(Credential).where(Credential.subject_id == subject.id))
    # A create's answer kept for an idempotent retry can hold the name: ids are random,
    # so a body that mentions this one is about this subject.
    session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.body.contains(f'"{subject.id}"'))
    )
    session.execute(delete(SigninCode).where(SigninCode.subject_id == subject.id))
    sessions = end_sessions(session, role=Role.RESIDENT, principal_id=subject.id)
    snapshot_ids = tuple(
        session.scalars(select(Snapshot.id).where(Snapshot.subject_id == subject.id))
    )
    session.execute(delete(Snapshot).where(Snapshot.subject_id == subject.id))
    open_consents = count(
        session, Consent, Consent.subject_id == subject.id, Consent.withdrawn_at.is_(None)
    )
    session.execute(
        update(Consent)
        .where(Consent.subject_id == subject.id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now, withdrawn_by=actor)
    )
    # The ledger keeps that consent was given and withdrawn, not who signed.
    session.execute(
        update(Consent).where(Consent.subject_id == subject.id).values(given_by=ERASED_NAME)
    )
    session.execute(
        update(Guardian)
        .where(Guardian.subject_id == subject.id)
        .values(display_name=None, removed_at=now)
    )
    subject.display_name = None
    # Where they lived is theirs too: the tombstone keeps no home.
    subject.building = subject.unit = subject.household = None
    subject.status = SubjectStatus.DELETED
    subject.deleted_at = now
    subject.minor_until = None
    return _record(
        session,
        store,
        subject,
        reason,
        actor,
        now,
        action=AuditAction.SUBJECT_DELETED,
        subject_erased=True,
        templates=templates,
        credentials=credentials,
        snapshot_ids=snapshot_ids,
        extra={"consents_withdrawn": open_consents, "sessions_ended": sessions},
        erased=(Erased(subject.id, ErasedKind.SUBJECT, subject.site_id, reason.value, now),),
    )


def erase_face_data(
    session: Session,
    store: Store,
    subject: Subject,
    consent_ids: Sequence[str],
    reason: DeletionReason,
    actor: str,
    now: datetime,
    *,
    action: AuditAction,
) -> PendingErasure:
    """Erase the templates enrolled under ``consent_ids`` (withdrawal, consent expiry).

    The subject stays, with their credentials: declining face recognition never removes
    entry (R-08). When no template is left, their data key is destroyed too. A withdrawal is
    noted in the erasure log, so restoring an older backup cannot revive the consent.
    """
    templates = count(session, Template, Template.consent_id.in_(consent_ids))
    session.execute(delete(Template).where(Template.consent_id.in_(consent_ids)))
    session.flush()
    remaining = count(session, Template, Template.subject_id == subject.id)
    erased: tuple[Erased, ...] = ()
    if reason is DeletionReason.WITHDRAWAL:
        erased = tuple(
            Erased(consent_id, ErasedKind.CONSENT, subject.site_id, reason.value, now)
            for consent_id in consent_ids
        )
    return _record(
        session,
        store,
        subject,
        reason,
        actor,
        now,
        action=action,
        subject_erased=False,
        templates=templates,
        credentials=0,
        snapshot_ids=(),
        extra={"consents": len(consent_ids)},
        destroy_key=remaining == 0,
        erased=erased,
    )


def erase_templates(
    session: Session,
    store: Store,
    subject: Subject,
    template_ids: Sequence[str],
    reason: DeletionReason,
    actor: str,
    now: datetime,
) -> PendingErasure:
    """Erase single templates whose key is gone or that no longer decrypt (reconcile).

    The subject and their consents stay; audited as ``templates.erased``.
    """
    templates = count(session, Template, Template.id.in_(template_ids))
    session.execute(delete(Template).where(Template.id.in_(template_ids)))
    session.flush()
    remaining = count(session, Template, Template.subject_id == subject.id)
    return _record(
        session,
        store,
        subject,
        reason,
        actor,
        now,
        action=AuditAction.TEMPLATES_ERASED,
        subject_erased=False,
        templates=templates,
        credentials=0,
        snapshot_ids=(),
        extra={},
        destroy_key=remaining == 0,
    )


def _record(
    session: Session,
    store: Store,
    subject: Subject,
    reason: DeletionReason,
    actor: str,
    now: datetime,
    *,
    action: AuditAction,
    subject_erased: bool,
    templates: int,
    credentials: int,
    snapshot_ids: tuple[str, ...],
    extra: dict[str, str | int | float | bool | None],
    destroy_key: bool = True,
    erased: tuple[Erased, ...] = (),
) -> PendingErasure:
    key_owners = ((subject.id,) if destroy_key else ()) + snapshot_ids
    # Counted here, under the write lock: a subject that never had templates has no key.
    keys = len(store.keystore.existing(key_owners))
    event_id = store.audit(
        session,
        actor,
        action,
        site_id=subject.site_id,
        subject_id=subject.id,
        detail={
            "reason": reason.value,
            "templates_deleted": templates,
            "credentials_deleted": credentials,
            "snapshots_deleted": len(snapshot_ids),
            "keys_destroyed": keys,
            **extra,
        },
    )
    row = DeletionReceiptRow(
        id=new_id(),
        subject_id=subject.id,
        site_id=subject.site_id,
        deleted_at=now,
        reason=reason,
        requested_by=actor,
        templates_deleted=templates,
        credentials_deleted=credentials,
        snapshots_deleted=len(snapshot_ids),
        keys_destroyed=keys,
        audit_event_id=event_id,
        subject_erased=subject_erased,
    )
    session.add(row)
    bump_gallery(session, subject.site_id, subject.id)
    site_code = session.get_one(Site, subject.site_id).code
    return PendingErasure(
        receipt=receipt_info(row, site_code),
        key_owners=key_owners,
        snapshot_ids=snapshot_ids,
        erased=erased,
    )


def finish(store: Store, pending: PendingErasure, *, checkpoint: bool = True) -> None:
    """After the commit: log the erasure, destroy the keys, remove kept frames' files, and
    checkpoint the WAL (``checkpoint=False`` lets a batch checkpoint once at its end)."""
    store.keystore.log_erasures(pending.erased)
    with store.transaction() as session:
        destroy_dead_keys(session, store, pending.key_owners)
    for snapshot_id in pending.snapshot_ids:
        snapshot_file(store.settings, snapshot_id).unlink(missing_ok=True)
    store.forget_gallery_subject(pending.receipt.site_code, pending.receipt.subject_id)
    if checkpoint:
        store.checkpoint()


def destroy_dead_keys(session: Session, store: Store, owner_ids: Collection[str]) -> int:
    """Destroy the keys of those ``owner_ids`` whose owner is dead; returns how many.

    Dead: a subject that is deleted or has no template left, or a kept frame whose row is
    gone (or an id the database does not know at all). ``session`` must hold the write lock,
    so no enrollment or kept frame can commit between this check and the destruction.
    """
    dead: set[str] = set()
    owners = sorted(owner_ids)
    for start in range(0, len(owners), ID_BATCH):
        batch = owners[start : start + ID_BATCH]
        live = set(
            session.scalars(
                select(Subject.id).where(
                    Subject.id.in_(batch),
                    Subject.status == SubjectStatus.ACTIVE,
                    select(Template.id).where(Template.subject_id == Subject.id).exists(),
                )
            )
        )
        live.update(session.scalars(select(Snapshot.id).where(Snapshot.id.in_(batch))))
        dead.update(set(batch) - live)
    return store.keystore.destroy(dead)


def receipt_info(row: DeletionReceiptRow, site_code: str) -> DeletionReceipt:
    return DeletionReceipt(
        id=row.id,
        subject_id=row.subject_id,
        site_code=site_code,
        deleted_at=row.deleted_at,
        reason=row.reason,
        requested_by=row.requested_by,
        subject_erased=row.subject_erased,
        templates_deleted=row.templates_deleted,
        credentials_deleted=row.credentials_deleted,
        snapshots_deleted=row.snapshots_deleted,
        keys_destroyed=row.keys_destroyed,
        audit_event_id=row.audit_event_id,
    )
