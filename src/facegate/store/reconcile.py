"""Bring the database, the key store and the kept-frame files back into agreement.

Run by ``Store.open`` every time (cheap checks), and in full after a backup is restored:

- data keys left in a revision-0001 database move to the key store;
- templates whose data key is gone (a lost key store, a restored backup) are erased:
  nobody can read them any more, and they must not linger as copies;
- kept frames whose key or file is gone lose their row; files and keys of frames whose
  row never committed (a crash inside ``Snapshots.keep``) are removed;
- keys whose owner is dead (a deletion or withdrawal that died between its commit and
  ``erasure.finish``) are destroyed, and the erasure log gets the entries it missed.

In full (``replay=True``, or when a restore left its marker file behind), the erasure log
is replayed: subjects erased and consents withdrawn after the backup was taken are erased
again, and templates that no longer decrypt with their subject's current key go too. A
restore therefore never brings back a deleted person or a withdrawn consent (R-23, R-05).
The revocation log is replayed too, and everyone is signed out (``store.revocations``): a
restore never brings back a revoked card, PIN, code, device key or admin password.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, select

from facegate.errors import IntegrityViolationError
from facegate.store.audit import AuditAction
from facegate.store.crypto import decrypt_template
from facegate.store.erasure import (
    PendingErasure,
    destroy_dead_keys,
    erase_face_data,
    erase_subject,
    erase_templates,
)
from facegate.store.erasure import finish as finish_erasure
from facegate.store.keystore import Erased
from facegate.store.keystore_schema import ErasedKind
from facegate.store.records import (
    DeletionReason,
    DeletionReceipt,
    RevocationReplay,
    SubjectStatus,
)
from facegate.store.revocations import backfill_revocation_log, replay_revocations
from facegate.store.schema import (
    Consent,
    DeletionReceiptRow,
    Snapshot,
    Subject,
    SubjectKey,
    Template,
    utcnow,
)
from facegate.store.snapshot_files import remove_stray_files, stored_snapshot_ids

if TYPE_CHECKING:
    from facegate.store.service import Store

logger = logging.getLogger(__name__)

#: Actor recorded for what reconcile erases.
RECONCILE_ACTOR = "system:reconcile"
#: Left in the data dir while a restore is incomplete; the next open finishes it.
RESTORE_MARKER = "restore-pending"


@dataclass
class ReconcileReport:
    """What one reconcile found and did."""

    keys_moved: int = 0
    keys_destroyed: int = 0
    files_removed: int = 0
    snapshots_removed: int = 0
    subjects_erased: int = 0
    consents_withdrawn: int = 0
    templates_erased: int = 0
    receipts: list[DeletionReceipt] = field(default_factory=list)
    #: What the replay carried forward from the revocation log (after a restore).
    revocations: RevocationReplay = field(default_factory=RevocationReplay)

    @property
    def changed(self) -> bool:
        return bool(
            self.keys_moved
            or self.keys_destroyed
            or self.files_removed
            or self.snapshots_removed
            or self.receipts
            or self.revocations != RevocationReplay()
        )


def reconcile(store: Store, *, replay: bool = False) -> ReconcileReport:
    """Run the checks above; ``replay`` also replays the erasure log (after a restore)."""
    marker = store.settings.data_dir / RESTORE_MARKER
    replay = replay or marker.exists()
    report = ReconcileReport()
    report.keys_moved = _move_legacy_keys(store)
    if replay:
        _replay_subjects(store, report)
        _replay_consents(store, report)
        _erase_undecryptable(store, report)
        report.revocations = replay_revocations(store, RECONCILE_ACTOR)
    _erase_keyless_templates(store, report)
    _remove_broken_snapshots(store, report)
    with store.transaction() as session:
        # Under the write lock: no enrollment or kept frame is half-way through now.
        report.keys_destroyed = destroy_dead_keys(session, store, store.keystore.owners())
        kept = set(session.scalars(select(Snapshot.id)))
        report.files_removed = remove_stray_files(store.settings, kept)
    _backfill_erasure_log(store)
    backfill_revocation_log(store)
    if report.changed:
        store.checkpoint()
        logger.warning(
            "reconcile: %d key(s) destroyed, %d stray file(s) and %d kept frame(s) removed, "
            "%d erasure(s) with receipts",
            report.keys_destroyed,
            report.files_removed,
            report.snapshots_removed,
            len(report.receipts),
        )
    marker.unlink(missing_ok=True)
    return report


def _move_legacy_keys(store: Store) -> int:
    with store.transaction() as session:
        legacy = session.execute(
            select(SubjectKey.subject_id, SubjectKey.wrapped_key, Subject.site_id).join(
                Subject, Subject.id == SubjectKey.subject_id
            )
        ).all()
        for subject_id, wrapped, site_id in legacy:
            store.keystore.put_wrapped(subject_id, site_id, wrapped)
        session.execute(delete(SubjectKey))
    if legacy:
        store.checkpoint()
        logger.info("moved %d data keys into the key store", len(legacy))
    return len(legacy)


def _done(store: Store, report: ReconcileReport, pending: PendingErasure) -> None:
    finish_erasure(store, pending, checkpoint=False)
    report.receipts.append(pending.receipt)
    report.templates_erased += pending.receipt.templates_deleted


def _replay_subjects(store: Store, report: ReconcileReport) -> None:
    for entry in store.keystore.erasures(ErasedKind.SUBJECT):
        with store.transaction() as session:
            subject = session.get(Subject, entry.owner_id)
            if subject is None or subject.status is SubjectStatus.DELETED:
                continue
            pending = erase_subject(
                session, store, subject, DeletionReason.RECONCILE, RECONCILE_ACTOR, utcnow()
            )
        _done(store, report, pending)
        report.subjects_erased += 1


def _replay_consents(store: Store, report: ReconcileReport) -> None:
    for entry in store.keystore.erasures(ErasedKind.CONSENT):
        with store.transaction() as session:
            consent = session.get(Consent, entry.owner_id)
            if consent is None:
                continue
            subject = session.get_one(Subject, consent.subject_id)
            if subject.status is SubjectStatus.DELETED:
                continue
            templates = session.scalar(
                select(Template.id).where(Template.consent_id == consent.id).limit(1)
            )
            reopened = consent.withdrawn_at is None
            if not reopened and templates is None:
                continue
            if reopened:
                consent.withdrawn_at = entry.erased_at
                consent.withdrawn_by = RECONCILE_ACTOR
                report.consents_withdrawn += 1
            pending = erase_face_data(
                session,
                store,
                subject,
                (consent.id,),
                DeletionReason.RECONCILE,
                RECONCILE_ACTOR,
                utcnow(),
                action=AuditAction.CONSENT_WITHDRAWN,
            )
        _done(store, report, pending)


def _erase_undecryptable(store: Store, report: ReconcileReport) -> None:
    with store.reading() as session:
        subject_ids = list(
            session.scalars(
                select(Subject.id).where(
                    Subject.status == SubjectStatus.ACTIVE,
                    select(Template.id).where(Template.subject_id == Subject.id).exists(),
                )
            )
        )
    for subject_id in subject_ids:
        with store.transaction() as session:
            subject = session.get_one(Subject, subject_id)
            key = store.keystore.get(subject.id, subject.site_id)
            if key is None:
                continue  # _erase_keyless_templates takes these
            bad = [
                template.id
                for template in session.scalars(
                    select(Template).where(Template.subject_id == subject.id)
                )
                if not _decrypts(key, subject, template)
            ]
            if not bad:
                continue
            pending = erase_templates(
                session, store, subject, bad, DeletionReason.RECONCILE, RECONCILE_ACTOR, utcnow()
            )
        _done(store, report, pending)


def _decrypts(key: bytes, subject: Subject, template: Template) -> bool:
    try:
        decrypt_template(
            key,
            template.nonce,
            template.ciphertext,
            site_id=subject.site_id,
            subject_id=subject.id,
            template_id=template.id,
            model_name=template.model_name,
        )
    except IntegrityViolationError:
        return False
    return True


def _erase_keyless_templates(store: Store, report: ReconcileReport) -> None:
    with store.reading() as session:
        owners = set(session.scalars(select(Template.subject_id).distinct()))
    for subject_id in sorted(owners - store.keystore.existing(owners)):
        with store.transaction() as session:
            subject = session.get_one(Subject, subject_id)
            if store.keystore.existing((subject_id,)):
                continue
            template_ids = list(
                session.scalars(select(Template.id).where(Template.subject_id == subject_id))
            )
            if not template_ids:
                continue
            pending = erase_templates(
                session,
                store,
                subject,
                template_ids,
                DeletionReason.RECONCILE,
                RECONCILE_ACTOR,
                utcnow(),
            )
        _done(store, report, pending)


def _remove_broken_snapshots(store: Store, report: ReconcileReport) -> None:
    """Kept frames whose key or file is gone (e.g. expired after the restored backup)."""
    with store.reading() as session:
        rows = set(session.scalars(select(Snapshot.id)))
    if not rows:
        return
    broken = rows - (store.keystore.existing(rows) & stored_snapshot_ids(store.settings))
    for snapshot_id in sorted(broken):
        with store.transaction() as session:
            row = session.get(Snapshot, snapshot_id)
            if row is None:
                continue
            receipt = store.snapshots.erase(session, row, DeletionReason.RECONCILE, RECONCILE_ACTOR)
        store.snapshots.finish((snapshot_id,), checkpoint=False)
        report.snapshots_removed += 1
        if receipt is not None:
            report.receipts.append(receipt)


def _backfill_erasure_log(store: Store) -> None:
    """Log erasures whose ``finish`` never ran (the process died right after the commit)."""
    logged = {entry.owner_id for kind in ErasedKind for entry in store.keystore.erasures(kind)}
    with store.reading() as session:
        subjects = session.execute(
            select(Subject.id, Subject.site_id, Subject.deleted_at, DeletionReceiptRow.reason)
            .outerjoin(
                DeletionReceiptRow,
                and_(
                    DeletionReceiptRow.subject_id == Subject.id,
                    DeletionReceiptRow.subject_erased.is_(True),
                ),
            )
            .where(Subject.status == SubjectStatus.DELETED)
        ).all()
        consents = session.execute(
            select(Consent.id, Subject.site_id, Consent.withdrawn_at)
            .join(Subject, Subject.id == Consent.subject_id)
            .where(Subject.status == SubjectStatus.ACTIVE, Consent.withdrawn_at.is_not(None))
        ).all()
    missing = [
        Erased(
            owner_id,
            ErasedKind.SUBJECT,
            site_id,
            (reason or DeletionReason.REQUEST).value,
            at,
        )
        for owner_id, site_id, at, reason in subjects
        if owner_id not in logged and at is not None
    ] + [
        Erased(owner_id, ErasedKind.CONSENT, site_id, DeletionReason.WITHDRAWAL.value, at)
        for owner_id, site_id, at in consents
        if owner_id not in logged and at is not None
    ]
    if missing:
        store.keystore.log_erasures(missing)
