"""Deletion reaches every copy in the store and leaves a receipt (R-23)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from facegate.errors import InvalidRecordError, NotFoundError
from facegate.store import SiteInfo, Store, SubjectKind, SubjectStatus

from .helpers import MODEL, OPERATOR, enrolled_subject, random_embeddings


def _count(raw_db: sqlite3.Connection, table: str, subject_id: str) -> int:
    count = raw_db.execute(
        f"SELECT count(*) FROM {table} WHERE subject_id = ?", (subject_id,)
    ).fetchone()[0]
    assert isinstance(count, int)
    return count


def _disk_bytes(db_path: Path) -> bytes:
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_r23_delete_destroys_key_and_templates(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject, _ = enrolled_subject(store, count=3, name="Zhang San")
    neighbour, _ = enrolled_subject(store, count=2, seed=5, name="Li Si")
    receipt = store.delete_subject(subject.id, "moved out", OPERATOR)

    assert (receipt.subject_id, receipt.site_code, receipt.reason) == (
        subject.id,
        site.code,
        "moved out",
    )
    assert (receipt.templates_deleted, receipt.key_destroyed) == (3, True)
    assert _count(raw_db, "template", subject.id) == 0
    assert _count(raw_db, "subject_key", subject.id) == 0
    # The neighbour is untouched.
    assert _count(raw_db, "template", neighbour.id) == 2
    assert _count(raw_db, "subject_key", neighbour.id) == 1
    assert store.load_gallery(site.code, MODEL, "gate:1", "identify").subject_ids == (neighbour.id,)


def test_r23_deleted_subject_is_a_tombstone_without_personal_fields(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject, _ = enrolled_subject(store, name="Zhang San")
    receipt = store.delete_subject(subject.id, "request by the person", OPERATOR)
    tombstone = store.get_subject(subject.id)
    assert tombstone.status is SubjectStatus.DELETED
    assert tombstone.display_name is None
    assert tombstone.deleted_at == receipt.deleted_at
    assert (tombstone.template_count, tombstone.has_active_consent) == (0, False)
    assert all(
        consent.withdrawn_at == receipt.deleted_at for consent in store.list_consents(subject.id)
    )
    (name,) = raw_db.execute(
        "SELECT display_name FROM subject WHERE id = ?", (subject.id,)
    ).fetchone()
    assert name is None
    assert store.list_subjects(site.code) == []
    assert [s.id for s in store.list_subjects(site.code, include_deleted=True)] == [subject.id]


def test_r23_shredded_bytes_leave_the_database_files(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection, db_path: Path
) -> None:
    subject, _ = enrolled_subject(store, count=2)
    (wrapped_key,) = raw_db.execute(
        "SELECT wrapped_key FROM subject_key WHERE subject_id = ?", (subject.id,)
    ).fetchone()
    ciphertexts = [row[0] for row in raw_db.execute("SELECT ciphertext FROM template")]
    assert wrapped_key in _disk_bytes(db_path)

    store.delete_subject(subject.id, "moved out", OPERATOR)
    on_disk = _disk_bytes(db_path)
    # secure_delete zeroes the freed cells; the checkpoint drops the old WAL frames.
    assert wrapped_key not in on_disk
    assert not any(ciphertext in on_disk for ciphertext in ciphertexts)


def test_r23_deleting_twice_returns_the_original_receipt(store: Store, site: SiteInfo) -> None:
    subject, _ = enrolled_subject(store)
    first = store.delete_subject(subject.id, "moved out", OPERATOR)
    events = store.audit_events(subject.id)
    again = store.delete_subject(subject.id, "asked again", "operator:wang")
    assert again == first
    assert store.audit_events(subject.id) == events
    assert events[-1].id == first.audit_event_id
    assert events[-1].action == "subject.deleted"


def test_r23_subject_without_templates_is_deleted_without_a_key(
    store: Store, site: SiteInfo
) -> None:
    subject = store.add_subject(site.code, "Wang Wu", SubjectKind.VISITOR)
    receipt = store.delete_subject(subject.id, "visit over", OPERATOR)
    assert (receipt.templates_deleted, receipt.key_destroyed) == (0, False)
    assert store.get_subject(subject.id).status is SubjectStatus.DELETED


def test_r23_deleted_subject_cannot_be_enrolled_or_read(store: Store, site: SiteInfo) -> None:
    subject, _ = enrolled_subject(store)
    store.delete_subject(subject.id, "moved out", OPERATOR)
    with pytest.raises(NotFoundError, match="deleted"):
        store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)
    with pytest.raises(NotFoundError, match="deleted"):
        store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    with pytest.raises(NotFoundError, match="deleted"):
        store.record_consent(subject.id, "notice-v1", "signature", "Zhang San")
    assert len(store.load_gallery(site.code, MODEL, "gate:1", "identify")) == 0


def test_r23_schema_refuses_a_tombstone_that_keeps_the_name(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = store.add_subject(site.code, "Wang Wu", SubjectKind.VISITOR)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        raw_db.execute(
            "UPDATE subject SET status = 'deleted', deleted_at = '2025-01-01 00:00:00'"
            " WHERE id = ?",
            (subject.id,),
        )


def test_delete_unknown_subject_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="0" * 32):
        store.delete_subject("0" * 32, "moved out", OPERATOR)


@pytest.mark.parametrize(("subject_id", "reason"), [("Zhang San", "moved out"), ("0" * 32, " ")])
def test_delete_with_malformed_input_is_refused(store: Store, subject_id: str, reason: str) -> None:
    with pytest.raises(InvalidRecordError):
        store.delete_subject(subject_id, reason, OPERATOR)
