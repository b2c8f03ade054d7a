"""Backups hold no key, and a restore never brings back what was erased (R-23)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select

from facegate.core.config import Environment, Settings
from facegate.errors import IntegrityViolationError, InvalidRecordError, KeyMaterialError
from facegate.store import SiteInfo, Store, SubjectStatus
from facegate.store.audit_anchor import load_receipt
from facegate.store.backups import BACKUP_DIR, restore
from facegate.store.engine import make_engine
from facegate.store.migrate import alembic_config, head_revision
from facegate.store.reconcile import RESTORE_MARKER
from facegate.store.records import DeletionReason
from facegate.store.schema import AuditEvent

from .helpers import MODEL, OPERATOR, consented_subject, enrolled_subject, ready_site


def _files_digest(db_path: Path) -> str:
    digest = hashlib.sha256()
    for suffix in ("", "-wal"):
        path = db_path.with_name(db_path.name + suffix)
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.rule("R-23")
def test_r23_a_backup_is_a_private_copy_without_any_key(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    enrolled_subject(store, count=2)
    info = store.backups.create(actor=OPERATOR)
    assert info.path.parent == settings.data_dir / BACKUP_DIR
    assert info.path.name.startswith("facegate-")
    assert info.path.suffix == ".sqlite"
    assert (info.path.stat().st_mode & 0o777, info.path.parent.stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )
    assert not info.path.with_name(info.path.name + "-wal").exists()
    assert store.backups.list() == [info]

    # The backup holds the templates' ciphertext but no key: not one wrapped key's bytes.
    backup = info.path.read_bytes()
    with closing(sqlite3.connect(settings.resolved_keystore_path)) as keys:
        wrapped = [bytes(row[0]) for row in keys.execute("SELECT wrapped_key FROM data_key")]
    assert len(wrapped) == 1
    assert all(key not in backup for key in wrapped)
    with closing(sqlite3.connect(info.path)) as copy:
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master")}
        assert copy.execute("SELECT count(*) FROM template").fetchone() == (2,)
        assert copy.execute("SELECT count(*) FROM subject_key").fetchone() == (0,)
    assert not tables & {"data_key", "erasure_log"}
    with store.reading() as session:
        (detail,) = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "backup.created")
        )
    assert json.loads(detail) == {
        "file": info.name,
        "bytes": info.size_bytes,
        "sha256": hashlib.sha256(backup).hexdigest(),
    }
    assert store.verify_audit().ok


@pytest.mark.rule("R-23", "R-05")
def test_r23_restore_erases_again_what_was_erased_after_the_backup(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    deleted, _ = enrolled_subject(store, count=2, name="Zhang San")
    withdrawn, _ = enrolled_subject(store, count=1, seed=2, name="Li Si")
    no_face = consented_subject(store, name="Zhao Liu")  # deleted later, never had a key
    stays, _ = enrolled_subject(store, count=1, seed=3, name="Sun Qi")
    backup = store.backups.create(actor=OPERATOR)

    store.delete_subject(deleted.id, DeletionReason.REQUEST, OPERATOR)
    store.delete_subject(no_face.id, DeletionReason.REQUEST, OPERATOR)
    (consent,) = store.consents.list(withdrawn.id)
    store.consents.withdraw(consent.id, actor=OPERATOR)
    later, _ = enrolled_subject(store, count=1, seed=4, name="Qian Ba")  # not in the backup
    store.close()

    report = restore(settings, backup.path, actor=OPERATOR)
    assert report.revision == head_revision()
    assert (report.subjects_erased, report.consents_withdrawn) == (2, 1)
    reasons = {(r.subject_id, r.reason, r.subject_erased) for r in report.receipts}
    assert reasons == {
        (deleted.id, DeletionReason.RECONCILE, True),
        (no_face.id, DeletionReason.RECONCILE, True),
        (withdrawn.id, DeletionReason.RECONCILE, False),
    }
    with Store.open(settings) as reopened:
        for gone in (deleted.id, no_face.id):
            tombstone = reopened.get_subject(gone)
            assert (tombstone.status, tombstone.display_name) == (SubjectStatus.DELETED, None)
        after = reopened.get_subject(withdrawn.id)
        assert (after.status, after.template_count, after.has_active_consent) == (
            SubjectStatus.ACTIVE,
            0,
            False,
        )
        (back,) = reopened.consents.list(withdrawn.id)
        assert back.withdrawn_at is not None
        gallery = reopened.load_gallery(site.code, MODEL, "gate:1", "identify")
        assert gallery.subject_ids == (stays.id,)
        assert reopened.keystore.get(later.id, site.id) is None  # its subject is not there
        assert reopened.keystore.get(deleted.id, site.id) is None
        assert reopened.verify_audit().ok
        assert reopened.reconcile(replay=True).receipts == []  # nothing left to replay
    assert not (settings.data_dir / RESTORE_MARKER).exists()


@pytest.mark.rule("R-23")
def test_r23_a_restore_cut_short_is_finished_by_the_next_open(
    store: Store, site: SiteInfo, settings: Settings, db_path: Path
) -> None:
    deleted, _ = enrolled_subject(store, count=1)
    backup = store.backups.create(actor=OPERATOR)
    store.delete_subject(deleted.id, DeletionReason.REQUEST, OPERATOR)
    store.close()
    # What restore does before it reopens: marker, then the copy; then the process dies.
    (settings.data_dir / RESTORE_MARKER).touch()
    with closing(sqlite3.connect(backup.path)) as src, closing(sqlite3.connect(db_path)) as dst:
        src.backup(dst)
    with Store.open(settings) as reopened:
        assert reopened.get_subject(deleted.id).status is SubjectStatus.DELETED
        assert reopened.last_reconcile is not None
        assert reopened.last_reconcile.subjects_erased == 1
    assert not (settings.data_dir / RESTORE_MARKER).exists()


@pytest.mark.parametrize(
    "content", [b"", b"not a database at all" * 100, b"SQLite format 3\x00" + os.urandom(4000)]
)
def test_restoring_garbage_is_refused_and_the_live_database_is_untouched(
    store: Store, site: SiteInfo, settings: Settings, db_path: Path, tmp_path: Path, content: bytes
) -> None:
    enrolled_subject(store, count=1)
    store.close()
    before = _files_digest(db_path)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(content)
    with pytest.raises(InvalidRecordError):
        restore(settings, garbage, actor=OPERATOR)
    assert _files_digest(db_path) == before
    assert not (settings.data_dir / RESTORE_MARKER).exists()
    assert [p.name for p in (settings.data_dir / BACKUP_DIR).iterdir()] == []


def test_restoring_the_key_store_or_a_missing_file_is_refused(
    store: Store, site: SiteInfo, settings: Settings, db_path: Path, tmp_path: Path
) -> None:
    store.close()
    before = _files_digest(db_path)
    keystore_copy = tmp_path / "keys.sqlite"
    shutil.copyfile(settings.resolved_keystore_path, keystore_copy)
    with pytest.raises(InvalidRecordError, match="known schema revision"):
        restore(settings, keystore_copy, actor=OPERATOR)
    with pytest.raises(InvalidRecordError, match="no backup file"):
        restore(settings, tmp_path / "missing.sqlite", actor=OPERATOR)
    assert _files_digest(db_path) == before


@pytest.mark.rule("R-28")
def test_r28_a_tampered_backup_or_another_sites_backup_is_refused(
    store: Store, site: SiteInfo, settings: Settings, db_path: Path, tmp_path: Path
) -> None:
    backup = store.backups.create(actor=OPERATOR)
    store.close()
    before = _files_digest(db_path)
    tampered = tmp_path / "tampered.sqlite"
    shutil.copyfile(backup.path, tampered)
    with closing(sqlite3.connect(tampered)) as connection:
        connection.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        connection.execute("UPDATE audit_event SET actor = 'someone else' WHERE id = 1")
        connection.commit()
    with pytest.raises(IntegrityViolationError, match="audit chain"):
        restore(settings, tampered, actor=OPERATOR)

    other = Settings(data_dir=tmp_path / "other", env=Environment.DEVELOPMENT)
    with Store.open(other) as foreign:
        ready_site(foreign)
        foreign_backup = foreign.backups.create(actor=OPERATOR)
    with pytest.raises(KeyMaterialError):
        restore(settings, foreign_backup.path, actor=OPERATOR)
    assert _files_digest(db_path) == before


@pytest.mark.rule("R-27", "R-23")
def test_r27_a_restore_rewinds_the_receipt_on_record_and_verifies_intact(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    enrolled_subject(store, count=1)
    backup = store.backups.create(actor=OPERATOR)
    for outcome in ("accept", "unknown"):
        store.record_decision(site.code, "gate:1", "decision.identify", None, outcome)
    store.close()
    receipts = settings.resolved_audit_receipt_path
    replaced = load_receipt(receipts, store.site_key).receipt
    assert replaced is not None

    restore(settings, backup.path, actor=OPERATOR)
    with Store.open(settings) as reopened:
        with reopened.reading() as session:
            restored_id, detail = session.execute(
                select(AuditEvent.id, AuditEvent.detail).where(
                    AuditEvent.action == "backup.restored"
                )
            ).one()
        # The receipt now anchors the restored log, ending with its backup.restored event.
        receipt = load_receipt(receipts, reopened.site_key).receipt
        assert receipt is not None
        assert receipt.last_id == restored_id < replaced.last_id
        report = reopened.verify_audit()
        assert (report.ok, report.events_checked, report.receipt_found) == (
            True,
            restored_id,
            True,
        )
    # The rewind itself is on record: the head the receipt named before.
    recorded = json.loads(detail)
    assert (recorded["replaced_last_id"], recorded["replaced_last_hash"]) == (
        replaced.last_id,
        replaced.last_hash,
    )


@pytest.mark.rule("R-27")
def test_r27_a_backup_from_before_the_seal_is_sealed_when_restored(
    store: Store, site: SiteInfo, settings: Settings, tmp_path: Path
) -> None:
    backup = store.backups.create(actor=OPERATOR)
    store.close()
    old = tmp_path / "facegate-0004.sqlite"
    shutil.copyfile(backup.path, old)
    engine = make_engine(f"sqlite:///{old}")
    try:
        with engine.connect() as connection:
            connection.connection.cursor().execute("PRAGMA foreign_keys = OFF")
            with connection.begin():
                command.downgrade(alembic_config(connection), "0004")
    finally:
        engine.dispose()
    report = restore(settings, old, actor=OPERATOR)
    assert report.revision == "0004"
    with Store.open(settings) as reopened:
        assert reopened.verify_audit().ok
