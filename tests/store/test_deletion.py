"""Deletion reaches every copy in the store and leaves a receipt (R-23)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from facegate.core.config import Settings
from facegate.errors import InvalidRecordError, NotFoundError
from facegate.store import SiteInfo, Store, SubjectKind, SubjectStatus
from facegate.store.erasure import erase_subject
from facegate.store.keystore_schema import ErasedKind
from facegate.store.records import DeletionReason
from facegate.store.schema import Subject

from .helpers import MODEL, NOTICE_VERSION, OPERATOR, enrolled_subject, random_embeddings


@pytest.fixture
def keys_db(settings: Settings, store: Store) -> Iterator[sqlite3.Connection]:
    """A raw connection to the key store file."""
    connection = sqlite3.connect(settings.resolved_keystore_path, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def _count(raw_db: sqlite3.Connection, table: str, subject_id: str) -> int:
    count = raw_db.execute(
        f"SELECT count(*) FROM {table} WHERE subject_id = ?", (subject_id,)
    ).fetchone()[0]
    assert isinstance(count, int)
    return count


def _has_key(keys_db: sqlite3.Connection, owner_id: str) -> bool:
    row = keys_db.execute("SELECT 1 FROM data_key WHERE owner_id = ?", (owner_id,)).fetchone()
    return row is not None


def _disk_bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.mark.rule("R-23")
def test_r23_delete_destroys_key_and_templates(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection, keys_db: sqlite3.Connection
) -> None:
    subject, _ = enrolled_subject(store, count=3, name="Zhang San")
    neighbour, _ = enrolled_subject(store, count=2, seed=5, name="Li Si")
    assert _has_key(keys_db, subject.id)
    receipt = store.delete_subject(subject.id, DeletionReason.MOVE_OUT, OPERATOR)

    assert (receipt.subject_id, receipt.site_code, receipt.reason, receipt.requested_by) == (
        subject.id,
        site.code,
        DeletionReason.MOVE_OUT,
        OPERATOR,
    )
    assert (receipt.templates_deleted, receipt.keys_destroyed, receipt.subject_erased) == (
        3,
        1,
        True,
    )
    assert _count(raw_db, "template", subject.id) == 0
    assert not _has_key(keys_db, subject.id)
    # The neighbour is untouched.
    assert _count(raw_db, "template", neighbour.id) == 2
    assert _has_key(keys_db, neighbour.id)
    assert store.load_gallery(site.code, MODEL, "gate:1", "identify").subject_ids == (neighbour.id,)


@pytest.mark.rule("R-23")
def test_r23_receipt_is_stored_and_audited_without_face_data(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject, _ = enrolled_subject(store, count=2)
    receipt = store.delete_subject(subject.id, "request", OPERATOR)
    row = raw_db.execute(
        "SELECT reason, templates_deleted, keys_destroyed, subject_erased, audit_event_id"
        " FROM deletion_receipt WHERE id = ?",
        (receipt.id,),
    ).fetchone()
    assert row == ("request", 2, 1, 1, receipt.audit_event_id)
    event = store.audit_events(subject.id)[-1]
    assert (event.id, event.action) == (receipt.audit_event_id, "subject.deleted")
    assert event.detail["reason"] == "request"
    assert event.detail["templates_deleted"] == 2
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw_db.execute("DELETE FROM deletion_receipt WHERE id = ?", (receipt.id,))


@pytest.mark.rule("R-23")
def test_r23_deleted_subject_is_a_tombstone_without_personal_fields(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject, _ = enrolled_subject(store, name="Zhang San")
    receipt = store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    tombstone = store.get_subject(subject.id)
    assert tombstone.status is SubjectStatus.DELETED
    assert tombstone.display_name is None
    assert tombstone.deleted_at == receipt.deleted_at
    assert (tombstone.template_count, tombstone.has_active_consent) == (0, False)
    assert all(
        consent.withdrawn_at == receipt.deleted_at for consent in store.consents.list(subject.id)
    )
    (name,) = raw_db.execute(
        "SELECT display_name FROM subject WHERE id = ?", (subject.id,)
    ).fetchone()
    assert name is None
    assert store.list_subjects(site.code) == []
    assert [s.id for s in store.list_subjects(site.code, include_deleted=True)] == [subject.id]


@pytest.mark.rule("R-23")
def test_r23_shredded_bytes_leave_the_database_files(
    store: Store,
    site: SiteInfo,
    settings: Settings,
    raw_db: sqlite3.Connection,
    keys_db: sqlite3.Connection,
    db_path: Path,
) -> None:
    subject, _ = enrolled_subject(store, count=2)
    (wrapped_key,) = keys_db.execute(
        "SELECT wrapped_key FROM data_key WHERE owner_id = ?", (subject.id,)
    ).fetchone()
    ciphertexts = [row[0] for row in raw_db.execute("SELECT ciphertext FROM template")]
    keystore_path = settings.resolved_keystore_path
    assert wrapped_key in _disk_bytes(keystore_path)
    assert all(ciphertext in _disk_bytes(db_path) for ciphertext in ciphertexts)

    store.delete_subject(subject.id, DeletionReason.MOVE_OUT, OPERATOR)
    # secure_delete zeroes the freed cells; the checkpoint drops the old WAL frames.
    assert wrapped_key not in _disk_bytes(keystore_path)
    on_disk = _disk_bytes(db_path)
    assert not any(ciphertext in on_disk for ciphertext in ciphertexts)


@pytest.mark.rule("R-23")
def test_r23_deleting_twice_returns_the_original_receipt(store: Store, site: SiteInfo) -> None:
    subject, _ = enrolled_subject(store)
    first = store.delete_subject(subject.id, DeletionReason.MOVE_OUT, OPERATOR)
    events = store.audit_events(subject.id)
    again = store.delete_subject(subject.id, DeletionReason.REQUEST, "operator:wang")
    assert again == first
    assert store.audit_events(subject.id) == events
    assert events[-1].id == first.audit_event_id
    assert events[-1].action == "subject.deleted"


@pytest.mark.rule("R-23")
def test_r23_subject_without_templates_is_deleted_without_a_key(
    store: Store, site: SiteInfo
) -> None:
    subject = store.add_subject(site.code, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    receipt = store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    assert (receipt.templates_deleted, receipt.keys_destroyed, receipt.key_destroyed) == (
        0,
        0,
        False,
    )
    assert store.get_subject(subject.id).status is SubjectStatus.DELETED


@pytest.mark.rule("R-23")
def test_r23_deleted_subject_cannot_be_enrolled_or_read(store: Store, site: SiteInfo) -> None:
    subject, _ = enrolled_subject(store)
    store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    with pytest.raises(NotFoundError, match="deleted"):
        store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)
    with pytest.raises(NotFoundError, match="deleted"):
        store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    with pytest.raises(NotFoundError, match="deleted"):
        store.consents.record(
            subject.id, NOTICE_VERSION, "signature", "scan:consent-form", actor=OPERATOR
        )
    assert len(store.load_gallery(site.code, MODEL, "gate:1", "identify")) == 0


@pytest.mark.rule("R-23")
def test_r23_schema_refuses_a_tombstone_that_keeps_the_name(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = store.add_subject(site.code, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        raw_db.execute(
            "UPDATE subject SET status = 'deleted', deleted_at = '2025-01-01 00:00:00'"
            " WHERE id = ?",
            (subject.id,),
        )


def test_delete_unknown_subject_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="0" * 32):
        store.delete_subject("0" * 32, DeletionReason.REQUEST, OPERATOR)


@pytest.mark.parametrize(
    ("subject_id", "reason"),
    [("Zhang San", "request"), ("0" * 32, "moved out"), ("0" * 32, " ")],
)
def test_delete_with_malformed_input_is_refused(store: Store, subject_id: str, reason: str) -> None:
    with pytest.raises(InvalidRecordError):
        store.delete_subject(subject_id, reason, OPERATOR)


@pytest.mark.rule("R-23")
def test_r23_deleting_again_finishes_a_deletion_whose_key_step_never_ran(
    store: Store, site: SiteInfo
) -> None:
    # The deletion committed but its process died (or the key store was busy) before the
    # key was destroyed. A long-running worker that is asked again must finish it, not
    # wait for the next restart's reconcile.
    subject, _ = enrolled_subject(store)
    with store.transaction() as session:
        row = session.get_one(Subject, subject.id)
        pending = erase_subject(
            session, store, row, DeletionReason.REQUEST, OPERATOR, datetime.now(UTC)
        )
    assert store.keystore.get(subject.id, site.id) is not None
    again = store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    assert again == pending.receipt
    assert store.keystore.get(subject.id, site.id) is None
    assert [e.owner_id for e in store.keystore.erasures(ErasedKind.SUBJECT)] == [subject.id]
