"""Templates are encrypted at rest and bound to their row (R-20); no image column (R-21)."""

from __future__ import annotations

import base64
import os
import sqlite3
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import LargeBinary

from facegate.core.config import Environment, Settings
from facegate.errors import IntegrityViolationError
from facegate.store import SiteInfo, Store
from facegate.store.schema import Base

from .helpers import MODEL, enrolled_subject, ready_site


def _disk_bytes(db_path: Path) -> bytes:
    """Everything SQLite has on disk for this database: main file and write-ahead log."""
    wal = db_path.with_name(db_path.name + "-wal")
    return db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@pytest.mark.rule("R-20")
def test_r20_plaintext_embeddings_are_not_in_the_database_files(
    store: Store, site: SiteInfo, db_path: Path, raw_db: sqlite3.Connection
) -> None:
    _, vectors = enrolled_subject(store, count=3)
    on_disk = _disk_bytes(db_path)
    # Positive control: the stored ciphertexts are found, so the search reads the right bytes.
    ciphertexts = [row[0] for row in raw_db.execute("SELECT ciphertext FROM template")]
    assert len(ciphertexts) == 3
    assert all(ciphertext in on_disk for ciphertext in ciphertexts)
    for vector in vectors:
        plaintext = vector.astype("<f4").tobytes()
        chunks = [plaintext[i : i + 16] for i in range(0, len(plaintext), 16)]
        assert not any(chunk in on_disk for chunk in chunks)


@pytest.mark.rule("R-20")
def test_r20_site_key_is_kept_apart_from_the_data(tmp_path: Path) -> None:
    material = os.urandom(32)
    settings = Settings(
        data_dir=tmp_path / "data",
        env=Environment.PRODUCTION,
        site_key=SecretStr(base64.b64encode(material).decode()),
    )
    with Store.open(settings) as store:
        ready_site(store)
        enrolled_subject(store)
        db_path = settings.data_dir / "facegate.sqlite"
        assert material not in _disk_bytes(db_path)
        assert material not in _disk_bytes(settings.resolved_keystore_path)
    # The database and, apart from it, the key store of wrapped data keys and the audit head
    # receipt; no site key.
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["facegate.sqlite", "keys"]
    assert sorted(p.name for p in (settings.data_dir / "keys").iterdir()) == [
        "audit-head.json",
        "keystore.sqlite",
    ]
    assert material not in (settings.data_dir / "keys" / "audit-head.json").read_bytes()


@pytest.mark.rule("R-20")
def test_r20_ciphertext_moved_to_another_subject_does_not_decrypt(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    victim, _ = enrolled_subject(store, count=1, seed=1, name="Zhang San")
    attacker, _ = enrolled_subject(store, count=1, seed=2, name="Li Si")
    # Someone with database access copies the victim's template onto their own row.
    raw_db.execute(
        "UPDATE template SET nonce = v.nonce, ciphertext = v.ciphertext"
        " FROM (SELECT nonce, ciphertext FROM template WHERE subject_id = ?) AS v"
        " WHERE subject_id = ?",
        (victim.id, attacker.id),
    )
    with pytest.raises(IntegrityViolationError, match=attacker.id):
        store.load_subject_templates(attacker.id, MODEL, "gate:1", "verify")
    with pytest.raises(IntegrityViolationError):
        store.load_gallery(site.code, MODEL, "gate:1", "identify")


@pytest.mark.rule("R-20")
def test_r20_ciphertexts_swapped_between_templates_do_not_decrypt(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject, _ = enrolled_subject(store, count=2)
    (first_id, first_ct), (second_id, second_ct) = raw_db.execute(
        "SELECT id, ciphertext FROM template ORDER BY id"
    ).fetchall()
    raw_db.execute("UPDATE template SET ciphertext = ? WHERE id = ?", (second_ct, first_id))
    raw_db.execute("UPDATE template SET ciphertext = ? WHERE id = ?", (first_ct, second_id))
    with pytest.raises(IntegrityViolationError, match="template"):
        store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")


@pytest.mark.rule("R-20")
def test_r20_wrapped_key_moved_to_another_subject_does_not_unwrap(
    store: Store, site: SiteInfo, settings: Settings
) -> None:
    victim, _ = enrolled_subject(store, count=1, seed=1, name="Zhang San")
    attacker, _ = enrolled_subject(store, count=1, seed=2, name="Li Si")
    keys = sqlite3.connect(settings.resolved_keystore_path, isolation_level=None)
    try:
        keys.execute(
            "UPDATE data_key SET wrapped_key ="
            " (SELECT wrapped_key FROM data_key WHERE owner_id = ?) WHERE owner_id = ?",
            (victim.id, attacker.id),
        )
    finally:
        keys.close()
    with pytest.raises(IntegrityViolationError, match="data key"):
        store.load_subject_templates(attacker.id, MODEL, "gate:1", "verify")


@pytest.mark.rule("R-21")
def test_r21_no_column_can_hold_a_raw_image(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    binary_columns = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, LargeBinary)
    }
    assert binary_columns == {"template.nonce", "template.ciphertext", "subject_key.wrapped_key"}
    enrolled_subject(store, count=1)
    # Each binary column's length is fixed by a CHECK: an image does not fit.
    image = os.urandom(50_000)
    raw_db.execute(
        "INSERT INTO subject_key (subject_id, wrapped_key, created_at)"
        " SELECT subject_id, zeroblob(60), created_at FROM template LIMIT 1"
    )
    for statement in (
        "UPDATE template SET ciphertext = ?",
        "UPDATE template SET nonce = ?",
        "UPDATE subject_key SET wrapped_key = ?",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            raw_db.execute(statement, (image,))
