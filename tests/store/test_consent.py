"""Enrollment needs a recorded consent: refused by the service and by the schema itself.

The consent ledger's own rules (R-01 … R-07) are tested in test_consent_ledger.py.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from facegate.errors import ConsentRequiredError
from facegate.store import SiteInfo, Store, SubjectKind

from .helpers import MODEL, OPERATOR, consented_subject, random_embeddings

TEMPLATE_INSERT = (
    "INSERT INTO template (id, subject_id, consent_id, model_name, nonce, ciphertext, quality,"
    " created_at) VALUES (?, ?, ?, 'm', ?, ?, 0.9, '2025-01-01 00:00:00.000000')"
)


def _insert_template(raw_db: sqlite3.Connection, subject_id: str, consent_id: str | None) -> None:
    # Well-formed nonce and ciphertext lengths, so only the consent can make it fail.
    raw_db.execute(
        TEMPLATE_INSERT, (os.urandom(16).hex(), subject_id, consent_id, os.urandom(12), b"x" * 528)
    )


def _template_rows(raw_db: sqlite3.Connection) -> int:
    count = raw_db.execute("SELECT count(*) FROM template").fetchone()[0]
    assert isinstance(count, int)
    return count


@pytest.mark.rule("R-02", "R-03")
def test_r03_enroll_without_consent_is_refused(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    with pytest.raises(ConsentRequiredError, match=subject.id):
        store.enroll(subject.id, random_embeddings(2), MODEL, [0.9, 0.8], OPERATOR)
    assert _template_rows(raw_db) == 0
    assert store.get_subject(subject.id).template_count == 0
    assert [e.action for e in store.audit_events(subject.id)] == ["subject.added"]


@pytest.mark.rule("R-03")
def test_r03_schema_refuses_template_without_consent(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    with pytest.raises(sqlite3.IntegrityError, match=r"NOT NULL constraint failed: template\."):
        _insert_template(raw_db, subject.id, None)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _insert_template(raw_db, subject.id, "f" * 32)
    assert _template_rows(raw_db) == 0


@pytest.mark.rule("R-03")
def test_r03_schema_refuses_template_citing_another_subjects_consent(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    consented = consented_subject(store, name="Zhang San")
    other = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    (consent,) = store.consents.list(consented.id)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _insert_template(raw_db, other.id, consent.id)
    # The same insert for the consent's own subject is accepted: the pairing is what failed.
    _insert_template(raw_db, consented.id, consent.id)
    assert _template_rows(raw_db) == 1
