"""Erasure reaches every copy, old backups included (R-23, R-20).

A subject is enrolled, the database is copied with its WAL while the store is open (the
kind of backup an operator makes with ``cp``), and the subject is deleted. Afterwards
nothing the system holds refers to the template, and the copy in the old backup cannot be
decrypted with anything the system still has.
"""

from __future__ import annotations

import base64
import logging
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from facegate.core.config import Settings
from facegate.errors import IntegrityViolationError, KeyMaterialError
from facegate.store import SiteInfo, Store
from facegate.store.crypto import decrypt_template, load_site_key
from facegate.store.records import DeletionReason

from .helpers import MODEL, OPERATOR, enrolled_subject

#: Rare enough that finding it in bytes or logs can only mean it leaked.
NAME = "Ouyang Mingyue"
SIDE_FILES = ("", "-wal", "-shm")


def _copy_database(db_path: Path, target: Path) -> Path:
    """The database file with its -wal and -shm, copied while the store has it open."""
    target.mkdir()
    for suffix in SIDE_FILES:
        source = db_path.with_name(db_path.name + suffix)
        if source.exists():
            shutil.copyfile(source, target / (db_path.name + suffix))
    return target / db_path.name


def _disk_bytes(db_path: Path) -> bytes:
    return b"".join(
        path.read_bytes()
        for suffix in SIDE_FILES
        if (path := db_path.with_name(db_path.name + suffix)).exists()
    )


def _template_rows(db: Path, subject_id: str) -> list[tuple[str, str, str, bytes, bytes]]:
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT template.id, subject.site_id, model_name, nonce, ciphertext FROM template"
            " JOIN subject ON subject.id = template.subject_id WHERE template.subject_id = ?"
            " ORDER BY template.created_at, template.id",
            (subject_id,),
        ).fetchall()
    return [(r[0], r[1], r[2], bytes(r[3]), bytes(r[4])) for r in rows]


def _rows_mentioning(db: Path, needle: str) -> list[str]:
    """``table.column`` of every cell, in any table, whose text or bytes contain ``needle``."""
    found = []
    with closing(sqlite3.connect(db)) as connection:
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    raw = value.encode() if isinstance(value, str) else value
                    if isinstance(raw, bytes) and needle.encode() in raw:
                        found.append(f"{table}.{column}")
    return found


def _every_key_the_system_holds(store: Store, settings: Settings, site: SiteInfo) -> list[bytes]:
    """Every data key in the key store, and the site key's own material."""
    keys = [store.keystore.get(owner, site.id) for owner in store.keystore.owners()]
    site_key_text = settings.resolved_key_file.read_text(encoding="ascii")
    return [key for key in keys if key is not None] + [base64.b64decode(site_key_text)]


@pytest.mark.rule("R-23", "R-20")
def test_r23_erasure_reaches_every_copy_and_the_old_backup_cannot_be_decrypted(
    store: Store,
    site: SiteInfo,
    settings: Settings,
    db_path: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    subject, vectors = enrolled_subject(store, count=3, name=NAME)
    neighbour, _ = enrolled_subject(store, count=2, seed=7, name="Li Si")
    store.load_gallery(site.code, MODEL, "gate:1", "identify")
    assert subject.id in store.cached_subject_ids()

    backup = _copy_database(db_path, tmp_path / "backup")
    old_rows = _template_rows(backup, subject.id)
    assert len(old_rows) == 3
    # Positive control: before the deletion, the backup's rows decrypt with the key store's key.
    key = store.keystore.get(subject.id, site.id)
    assert key is not None
    for (template_id, site_id, model, nonce, ciphertext), vector in zip(
        old_rows, vectors, strict=True
    ):
        plain = decrypt_template(
            key,
            nonce,
            ciphertext,
            site_id=site_id,
            subject_id=subject.id,
            template_id=template_id,
            model_name=model,
        )
        np.testing.assert_array_equal(plain, vector)

    receipt = store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    assert (receipt.templates_deleted, receipt.keys_destroyed) == (3, 1)

    # The live database and its WAL: not one byte of the templates or the name is left.
    live = _disk_bytes(db_path)
    assert NAME.encode() not in live
    for template_id, _, _, nonce, ciphertext in old_rows:
        assert template_id.encode() not in live
        assert ciphertext not in live
        assert nonce not in live
        # No row in any table refers to the template.
        assert _rows_mentioning(db_path, template_id) == []
    assert _rows_mentioning(db_path, NAME) == []

    # The audit log and Python's log records never held the template ids or the name.
    events = [e for s in (subject.id, neighbour.id) for e in store.audit_events(s)]
    assert any(e.action == "subject.deleted" for e in events)
    logged = caplog.text + repr([e.detail for e in events])
    for template_id, *_ in old_rows:
        assert template_id not in logged
    assert NAME not in logged

    # The gallery cache holds no trace of them, and a fresh gallery leaves them out.
    assert subject.id not in store.cached_subject_ids()
    gallery = store.load_gallery(site.code, MODEL, "gate:1", "identify")
    assert gallery.subject_ids == (neighbour.id,)
    for vector in vectors:
        assert not np.isclose(gallery.embeddings, vector).all(axis=1).any()

    # The old backup's templates: nothing the system still holds decrypts them.
    assert store.keystore.get(subject.id, site.id) is None
    load_site_key(settings, database_exists=True)  # the site key is still there...
    candidates = _every_key_the_system_holds(store, settings, site)
    assert len(candidates) == 2  # ...and the neighbour's data key
    for template_id, site_id, model, nonce, ciphertext in old_rows:
        for candidate in candidates:
            with pytest.raises(IntegrityViolationError):
                decrypt_template(
                    candidate,
                    nonce,
                    ciphertext,
                    site_id=site_id,
                    subject_id=subject.id,
                    template_id=template_id,
                    model_name=model,
                )
    # And the backup itself carries no key at all: keys live only in the key store.
    with closing(sqlite3.connect(backup)) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        assert "data_key" not in tables
        assert connection.execute("SELECT count(*) FROM subject_key").fetchone() == (0,)


@pytest.mark.rule("R-23")
def test_r23_withdrawal_erases_face_data_and_keeps_the_subject(
    store: Store, site: SiteInfo, settings: Settings, db_path: Path
) -> None:
    subject, _ = enrolled_subject(store, count=2, name=NAME)
    (consent,) = store.consents.list(subject.id)
    ciphertexts = [row[4] for row in _template_rows(db_path, subject.id)]
    withdrawal = store.consents.withdraw(consent.id, actor=OPERATOR)
    assert withdrawal.receipt is not None
    receipt = withdrawal.receipt
    assert (receipt.reason, receipt.subject_erased) == (DeletionReason.WITHDRAWAL, False)
    assert (receipt.templates_deleted, receipt.keys_destroyed) == (2, 1)
    assert store.keystore.get(subject.id, site.id) is None
    assert store.get_subject(subject.id).display_name == NAME
    live = _disk_bytes(db_path)
    assert not any(ciphertext in live for ciphertext in ciphertexts)
    # A second withdrawal is a no-op, not a second receipt.
    again = store.consents.withdraw(consent.id, actor=OPERATOR)
    assert again.receipt is None
    assert store.audit_events(subject.id)[-1].id == receipt.audit_event_id


def test_erasing_a_subject_twice_or_an_unknown_one_is_never_half_done(
    store: Store, site: SiteInfo
) -> None:
    subject, _ = enrolled_subject(store, name=NAME)
    first = store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    events = store.audit_events(subject.id)
    assert store.delete_subject(subject.id, DeletionReason.MOVE_OUT, OPERATOR) == first
    (consent,) = store.consents.list(subject.id)
    assert store.consents.withdraw(consent.id, actor=OPERATOR).receipt is None
    assert store.audit_events(subject.id) == events
    assert store.verify_audit().ok


def test_a_missing_key_store_beside_templates_is_refused_not_taken_for_a_lost_one(
    store: Store, site: SiteInfo, settings: Settings, db_path: Path, tmp_path: Path
) -> None:
    # A wrong FACEGATE_KEYSTORE_PATH or an unmounted disk must not make the next open
    # erase every template for good; only an explicit empty key store says it is lost.
    subject, _ = enrolled_subject(store, count=2)
    store.close()
    keystore = settings.resolved_keystore_path
    aside = tmp_path / "keystore-aside.sqlite"
    keystore.rename(aside)
    with pytest.raises(KeyMaterialError, match=r"key store .* is missing"):
        Store.open(settings)
    assert not keystore.exists()
    assert len(_template_rows(db_path, subject.id)) == 2
    aside.rename(keystore)
    with Store.open(settings) as reopened:
        assert reopened.get_subject(subject.id).template_count == 2
    # Truly lost: an empty file there accepts it, and what cannot be read goes, with a receipt.
    for suffix in SIDE_FILES:
        keystore.with_name(keystore.name + suffix).unlink(missing_ok=True)
    keystore.touch(mode=0o600)
    with Store.open(settings) as reopened:
        assert reopened.get_subject(subject.id).template_count == 0
        assert reopened.last_reconcile is not None
        assert [r.subject_id for r in reopened.last_reconcile.receipts] == [subject.id]
