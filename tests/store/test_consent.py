"""Enrollment needs a recorded consent: refused by the service and by the schema itself."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from facegate.errors import ConsentRequiredError, InvalidRecordError, NotFoundError
from facegate.store import ConsentMethod, SiteInfo, Store, SubjectKind

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


def test_r03_enroll_without_consent_is_refused(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    with pytest.raises(ConsentRequiredError, match=subject.id):
        store.enroll(subject.id, random_embeddings(2), MODEL, [0.9, 0.8], OPERATOR)
    assert _template_rows(raw_db) == 0
    assert store.get_subject(subject.id).template_count == 0
    assert [e.action for e in store.audit_events(subject.id)] == ["subject.added"]


def test_r03_schema_refuses_template_without_consent(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    with pytest.raises(sqlite3.IntegrityError, match=r"NOT NULL constraint failed: template\."):
        _insert_template(raw_db, subject.id, None)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _insert_template(raw_db, subject.id, "f" * 32)
    assert _template_rows(raw_db) == 0


def test_r03_schema_refuses_template_citing_another_subjects_consent(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    consented = consented_subject(store, name="Zhang San")
    other = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    (consent,) = store.list_consents(consented.id)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        _insert_template(raw_db, other.id, consent.id)
    # The same insert for the consent's own subject is accepted: the pairing is what failed.
    _insert_template(raw_db, consented.id, consent.id)
    assert _template_rows(raw_db) == 1


def test_r03_consent_record_says_who_when_which_notice_how_and_collector(
    store: Store, site: SiteInfo
) -> None:
    subject = store.add_subject(site.code, "Wang Wu", SubjectKind.VISITOR)
    given_at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    consent = store.record_consent(
        subject.id, "notice-v2", ConsentMethod.E_SIGNATURE, "Wang Wu", given_at, actor="staff:ma"
    )
    assert store.list_consents(subject.id) == [consent]
    assert (consent.notice_version, consent.method, consent.given_by, consent.collected_by) == (
        "notice-v2",
        ConsentMethod.E_SIGNATURE,
        "Wang Wu",
        "staff:ma",
    )
    assert consent.given_at == given_at
    assert consent.active
    assert store.get_subject(subject.id).has_active_consent


def test_r05_withdrawal_deletes_templates_and_refuses_new_enrollment(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = consented_subject(store)
    store.enroll(subject.id, random_embeddings(3), MODEL, [0.9] * 3, OPERATOR)
    (consent,) = store.list_consents(subject.id)
    withdrawn = store.withdraw_consent(consent.id, actor=OPERATOR)
    assert withdrawn.withdrawn_at is not None
    assert not withdrawn.active
    assert _template_rows(raw_db) == 0
    info = store.get_subject(subject.id)
    assert (info.has_active_consent, info.template_count) == (False, 0)
    assert len(store.load_gallery(site.code, MODEL, "gate:1", "identify")) == 0
    with pytest.raises(ConsentRequiredError):
        store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)
    with pytest.raises(ConsentRequiredError):
        store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    event = store.audit_events(subject.id)[-1]
    assert (event.action, event.detail["templates_deleted"]) == ("consent.withdrawn", 3)


def test_r05_withdrawing_twice_changes_nothing(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    (consent,) = store.list_consents(subject.id)
    first = store.withdraw_consent(consent.id)
    events = len(store.audit_events(subject.id))
    assert store.withdraw_consent(consent.id) == first
    assert len(store.audit_events(subject.id)) == events


def test_consent_after_withdrawal_allows_enrollment_again(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    (old,) = store.list_consents(subject.id)
    store.withdraw_consent(old.id)
    new = store.record_consent(subject.id, "notice-v2", "signature", "Zhang San")
    ids = store.enroll(subject.id, random_embeddings(1), MODEL, [0.9], OPERATOR)
    assert len(ids) == 1
    assert store.audit_events(subject.id)[-1].detail["consent_id"] == new.id


def test_withdraw_unknown_consent_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.withdraw_consent("0" * 32)


@pytest.mark.parametrize(
    ("given_at", "method", "message"),
    [
        (datetime(2025, 3, 1, 9, 30), "signature", "timezone-aware"),
        (datetime.now(UTC) + timedelta(days=1), "signature", "future"),
        (None, "verbal", "method 'verbal' is not one of"),
    ],
)
def test_malformed_consent_is_refused(
    store: Store, site: SiteInfo, given_at: datetime | None, method: str, message: str
) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    with pytest.raises(InvalidRecordError, match=message):
        store.record_consent(subject.id, "notice-v1", method, "Li Si", given_at)
    assert store.list_consents(subject.id) == []


def test_consent_for_unknown_subject_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.record_consent("0" * 32, "notice-v1", "signature", "Li Si")
