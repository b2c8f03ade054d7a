"""The consent ledger: notices, separate and recorded consent, guardians, withdrawal,
renewal after a widening notice, and consents that end (R-01 … R-07)."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from facegate.errors import (
    AlreadyExistsError,
    ConsentRequiredError,
    GuardianRequiredError,
    InvalidRecordError,
    NotFoundError,
    PolicyError,
    RenewalRequiredError,
)
from facegate.privacy.notice_template import DEFAULT_RETENTION_DAYS, starter_notice
from facegate.store import SiteInfo, Store, SubjectKind
from facegate.store.keystore_schema import KeyOwnerKind
from facegate.store.notices import Language, NoticeContent
from facegate.store.records import DataCategory, DeletionReason, ProcessingMethod, Purpose

from .helpers import (
    MODEL,
    NOTICE_VERSION,
    OPERATOR,
    consented_subject,
    random_embeddings,
    ready_site,
)

EVIDENCE = "scan:consent-form-0001"


def _years_ago(years: int) -> date:
    today = datetime.now(UTC).date()
    return today.replace(year=today.year - years, day=min(today.day, 28))


def _notice(**changes: object) -> NoticeContent:
    return dataclasses.replace(starter_notice("Sunny Garden", "Sunny Co.", "021-1"), **changes)  # type: ignore[arg-type]


def _enroll(store: Store, subject_id: str, count: int = 2) -> list[str]:
    return store.enroll(subject_id, random_embeddings(count), MODEL, [0.9] * count, OPERATOR)


# published rules, versioned, and every consent points at one


@pytest.mark.rule("R-01")
def test_r01_notice_states_every_item_in_chinese_and_english(store: Store, site: SiteInfo) -> None:
    notice = store.notices.current(site.code)
    assert notice.version == NOTICE_VERSION
    assert set(notice.content.texts) == {Language.ZH, Language.EN}
    for text in notice.content.texts.values():
        fields = dataclasses.asdict(text)
        assert set(fields) == {
            "purpose",
            "method",
            "scope",
            "retention",
            "storage_location",
            "processor",
            "contact",
            "withdrawal",
        }
        assert all(value.strip() for value in fields.values())
    assert len(notice.content_sha256) == 64


@pytest.mark.rule("R-01")
def test_r01_notice_missing_a_language_or_a_field_is_refused(store: Store, site: SiteInfo) -> None:
    english_only = _notice(texts={Language.EN: _notice().texts[Language.EN]})
    with pytest.raises(InvalidRecordError, match="missing in: zh"):
        store.notices.publish(site.code, "2026-2", english_only, actor=OPERATOR)
    raw = _notice().to_json().replace('"contact":"021-1",', "")
    with pytest.raises(InvalidRecordError, match="missing \\['contact'\\]"):
        NoticeContent.from_json(raw)
    with pytest.raises(InvalidRecordError, match="purposes, methods and scope"):
        store.notices.publish(site.code, "2026-2", _notice(purposes=frozenset()), actor=OPERATOR)
    assert [n.version for n in store.notices.list(site.code)] == [NOTICE_VERSION]


@pytest.mark.rule("R-01")
def test_r01_no_consent_before_a_notice_is_published(store: Store) -> None:
    store.create_site("north-gate", "North Gate", actor=OPERATOR)
    subject = store.add_subject("north-gate", "Li Si", SubjectKind.RESIDENT, actor=OPERATOR)
    with pytest.raises(NotFoundError, match="never published"):
        store.consents.record(subject.id, NOTICE_VERSION, "signature", EVIDENCE, actor=OPERATOR)
    with pytest.raises(NotFoundError, match="no processing notice"):
        store.notices.current("north-gate")


@pytest.mark.rule("R-01")
def test_r01_published_notice_cannot_be_edited_or_removed(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw_db.execute("UPDATE notice SET content = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        raw_db.execute("DELETE FROM notice")
    with pytest.raises(AlreadyExistsError):
        store.notices.publish(site.code, NOTICE_VERSION, _notice(), actor=OPERATOR)


# a separate, explicit, recorded act


@pytest.mark.rule("R-02")
def test_r02_nothing_but_the_consent_call_creates_a_consent(store: Store, site: SiteInfo) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT, actor=OPERATOR)
    store.notices.publish(site.code, "2026-2", _notice(), actor=OPERATOR)
    assert store.consents.list(subject.id) == []
    assert not store.get_subject(subject.id).has_active_consent
    with pytest.raises(ConsentRequiredError):
        _enroll(store, subject.id)


@pytest.mark.rule("R-02", "R-03")
@pytest.mark.parametrize(
    ("method", "evidence", "message"),
    [
        ("implied", EVIDENCE, "method 'implied' is not one of"),
        ("default", EVIDENCE, "method 'default' is not one of"),
        ("signature", "   ", "evidence reference must not be empty"),
    ],
)
def test_r02_consent_needs_a_signature_and_its_evidence(
    store: Store, site: SiteInfo, method: str, evidence: str, message: str
) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT, actor=OPERATOR)
    with pytest.raises(InvalidRecordError, match=message):
        store.consents.record(subject.id, NOTICE_VERSION, method, evidence, actor=OPERATOR)
    assert store.consents.list(subject.id) == []


@pytest.mark.rule("R-03", "R-07")
def test_r03_record_says_who_when_which_notice_how_by_whom_and_until_when(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = store.add_subject(site.code, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    given_at = datetime.now(UTC) - timedelta(days=3)
    consent = store.consents.record(
        subject.id,
        NOTICE_VERSION,
        "e_signature",
        "esign:tx-8841",
        given_at=given_at,
        actor="staff:ma",
    )
    assert store.consents.list(subject.id) == [consent]
    assert (consent.notice_version, consent.method.value, consent.given_by) == (
        NOTICE_VERSION,
        "e_signature",
        "Wang Wu",
    )
    assert (consent.evidence_ref, consent.collected_by, consent.given_at) == (
        "esign:tx-8841",
        "staff:ma",
        given_at,
    )
    assert consent.expires_at == given_at + timedelta(days=DEFAULT_RETENTION_DAYS)
    assert consent.usable(datetime.now(UTC))
    types = {row[2] for row in raw_db.execute("PRAGMA table_info(consent)")}
    assert "BLOB" not in types  # the record holds no face data


# children under 14


@pytest.mark.rule("R-04")
def test_r04_child_needs_a_guardian_who_gives_the_consent(store: Store, site: SiteInfo) -> None:
    child = store.add_subject(
        site.code, "Xiao Ming", "resident", date_of_birth=_years_ago(9), actor=OPERATOR
    )
    assert child.minor
    with pytest.raises(GuardianRequiredError):
        store.consents.record(child.id, NOTICE_VERSION, "signature", EVIDENCE, actor=OPERATOR)
    mother = store.consents.add_guardian(
        child.id, "Ming Ma", "parent", _years_ago(38), actor=OPERATOR
    )
    consent = store.consents.record(
        child.id, NOTICE_VERSION, "signature", EVIDENCE, guardian_id=mother.id, actor=OPERATOR
    )
    assert (consent.given_by, consent.guardian_id) == ("Ming Ma", mother.id)
    assert len(_enroll(store, child.id)) == 2


@pytest.mark.rule("R-04")
def test_r04_guardian_can_withdraw_and_delete_for_the_child(store: Store, site: SiteInfo) -> None:
    child = store.add_subject(
        site.code, "Xiao Ming", "resident", date_of_birth=_years_ago(9), actor=OPERATOR
    )
    mother = store.consents.add_guardian(child.id, "Ming Ma", "parent", _years_ago(38), actor="x")
    store.consents.record(
        child.id, NOTICE_VERSION, "signature", EVIDENCE, guardian_id=mother.id, actor=OPERATOR
    )
    _enroll(store, child.id)
    withdrawal = store.consents.withdraw_all(child.id, guardian_id=mother.id, actor="guardian")
    assert withdrawal.receipt is not None
    assert withdrawal.receipt.templates_deleted == 2
    receipt = store.delete_subject(child.id, DeletionReason.REQUEST, "guardian")
    assert receipt.subject_erased
    assert store.consents.guardians(child.id) == []


@pytest.mark.rule("R-04")
def test_r04_guardian_who_is_a_minor_or_of_an_adult_is_refused(
    store: Store, site: SiteInfo
) -> None:
    child = store.add_subject(site.code, "Xiao Ming", "resident", date_of_birth=_years_ago(9))
    with pytest.raises(InvalidRecordError, match="minor"):
        store.consents.add_guardian(child.id, "Big Brother", "parent", _years_ago(16), actor="x")
    adult = store.add_subject(site.code, "Li Si", "resident", date_of_birth=_years_ago(30))
    assert not adult.minor
    with pytest.raises(PolicyError, match="consents for themselves"):
        store.consents.add_guardian(adult.id, "Li Ma", "parent", _years_ago(60), actor="x")
    other_child = store.add_subject(site.code, "Xiao Hong", "resident", date_of_birth=_years_ago(8))
    guardian = store.consents.add_guardian(
        other_child.id, "Hong Ma", "parent", _years_ago(35), actor="x"
    )
    with pytest.raises(NotFoundError, match="not a recorded guardian"):
        store.consents.record(
            child.id, NOTICE_VERSION, "signature", EVIDENCE, guardian_id=guardian.id, actor="x"
        )


@pytest.mark.rule("R-04", "R-12")
def test_r04_birth_date_is_checked_not_stored(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    future = datetime.now(UTC).date() + timedelta(days=3)
    with pytest.raises(InvalidRecordError, match="in the future"):
        store.add_subject(site.code, "Nobody", "resident", date_of_birth=future)
    born = date(2019, 5, 17)
    store.add_subject(site.code, "Xiao Ming", "resident", date_of_birth=born)
    store.add_subject(site.code, "Li Si", "resident", date_of_birth=date(1980, 5, 17))
    rows = raw_db.execute("SELECT display_name, minor_until FROM subject ORDER BY 1").fetchall()
    assert rows == [("Li Si", None), ("Xiao Ming", "2033-05-17")]
    columns = {row[1] for row in raw_db.execute("PRAGMA table_info(subject)")}
    assert not {"date_of_birth", "birth_date", "dob"} & columns


# withdrawal, at once


@pytest.mark.rule("R-05", "R-23")
def test_r05_withdrawal_stops_face_processing_and_erases_at_once(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    subject = consented_subject(store)
    _enroll(store, subject.id, 3)
    assert subject.id in store.keystore.owners(KeyOwnerKind.SUBJECT)
    (consent,) = store.consents.list(subject.id)
    withdrawal = store.consents.withdraw(consent.id, actor=OPERATOR)
    assert withdrawal.consent_ids == (consent.id,)
    receipt = withdrawal.receipt
    assert receipt is not None
    assert (receipt.reason, receipt.templates_deleted, receipt.keys_destroyed) == (
        DeletionReason.WITHDRAWAL,
        3,
        1,
    )
    assert not receipt.subject_erased
    assert raw_db.execute("SELECT count(*) FROM template").fetchone()[0] == 0
    assert subject.id not in store.keystore.owners(KeyOwnerKind.SUBJECT)
    assert len(store.load_gallery(site.code, MODEL, "gate:1", "identify")) == 0
    with pytest.raises(ConsentRequiredError):
        store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    with pytest.raises(ConsentRequiredError):
        _enroll(store, subject.id)
    # The subject stays: declining face recognition does not remove them.
    assert store.get_subject(subject.id).status.value == "active"


@pytest.mark.rule("R-05")
def test_r05_withdrawing_twice_changes_nothing(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    (consent,) = store.consents.list(subject.id)
    store.consents.withdraw(consent.id, actor=OPERATOR)
    events = len(store.audit_events(subject.id))
    again = store.consents.withdraw(consent.id, actor=OPERATOR)
    assert (again.consent_ids, again.receipt) == ((), None)
    assert len(store.audit_events(subject.id)) == events
    assert store.consents.withdraw_all(subject.id, actor=OPERATOR).consent_ids == ()


def test_new_consent_after_withdrawal_allows_enrollment_again(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    store.consents.withdraw_all(subject.id, actor=OPERATOR)
    new = store.consents.record(subject.id, NOTICE_VERSION, "signature", EVIDENCE, actor="x")
    assert len(_enroll(store, subject.id, 1)) == 1
    assert store.audit_events(subject.id)[-1].detail["consent_id"] == new.id


# a widening notice stops face processing until consent is renewed


@pytest.mark.rule("R-06")
def test_r06_widening_notice_stops_face_processing_until_renewed(
    store: Store, site: SiteInfo
) -> None:
    subject = consented_subject(store)
    _enroll(store, subject.id)
    wider = _notice(
        purposes=frozenset({Purpose.GATE_ENTRY, Purpose.DISPUTE_REVIEW}),
        scope=frozenset(
            {DataCategory.FACE_TEMPLATE, DataCategory.ACCESS_EVENTS, DataCategory.DISPUTED_FRAMES}
        ),
    )
    publication = store.notices.publish(site.code, "2026-2", wider, actor=OPERATOR)
    assert (publication.notice.widens, publication.consents_needing_renewal) == (True, 1)
    assert len(store.load_gallery(site.code, MODEL, "gate:1", "identify")) == 0
    with pytest.raises(RenewalRequiredError):
        store.load_subject_templates(subject.id, MODEL, "gate:1", "verify")
    assert not store.get_subject(subject.id).has_active_consent
    # Consent to the old version is no longer accepted; to the new one it is.
    with pytest.raises(PolicyError, match="superseded"):
        store.consents.record(subject.id, NOTICE_VERSION, "signature", EVIDENCE, actor="x")
    store.consents.record(subject.id, "2026-2", "signature", EVIDENCE, actor="x")
    _enroll(store, subject.id)
    assert len(store.load_gallery(site.code, MODEL, "gate:1", "identify")) == 2


@pytest.mark.rule("R-06")
@pytest.mark.parametrize(
    ("change", "widens"),
    [
        ({"methods": frozenset({ProcessingMethod.VERIFY_1_1})}, False),
        ({"methods": frozenset(set(ProcessingMethod))}, True),
        ({"retention_days": 30}, False),
        ({"retention_days": 800}, True),
    ],
)
def test_r06_only_a_wider_notice_asks_for_renewal(
    store: Store, site: SiteInfo, change: dict[str, object], widens: bool
) -> None:
    subject = consented_subject(store)
    publication = store.notices.publish(site.code, "2026-2", _notice(**change), actor=OPERATOR)
    assert publication.notice.widens is widens
    assert publication.consents_needing_renewal == int(widens)
    assert store.get_subject(subject.id).has_active_consent is not widens


# every consent ends


@pytest.mark.rule("R-07")
def test_r07_consent_cannot_outlast_the_notice_or_end_before_it_starts(
    store: Store, site: SiteInfo
) -> None:
    subject = store.add_subject(site.code, "Li Si", "resident", actor=OPERATOR)
    now = datetime.now(UTC)
    with pytest.raises(InvalidRecordError, match="cannot outlast"):
        store.consents.record(
            subject.id,
            NOTICE_VERSION,
            "signature",
            EVIDENCE,
            expires_at=now + timedelta(days=DEFAULT_RETENTION_DAYS + 30),
            actor="x",
        )
    with pytest.raises(InvalidRecordError, match="end after"):
        store.consents.record(
            subject.id, NOTICE_VERSION, "signature", EVIDENCE, expires_at=now, actor="x"
        )


@pytest.mark.rule("R-07")
def test_r07_ended_consent_no_longer_allows_face_processing(store: Store, site: SiteInfo) -> None:
    subject = store.add_subject(site.code, "Li Si", "resident", actor=OPERATOR)
    long_ago = datetime.now(UTC) - timedelta(days=DEFAULT_RETENTION_DAYS + 1)
    consent = store.consents.record(
        subject.id, NOTICE_VERSION, "signature", EVIDENCE, given_at=long_ago, actor="x"
    )
    assert consent.expires_at is not None
    assert consent.expires_at < datetime.now(UTC)
    with pytest.raises(ConsentRequiredError, match="ended"):
        _enroll(store, subject.id)


@pytest.mark.rule("R-07", "R-24")
def test_r07_visitor_consent_ends_with_the_visit(store: Store, site: SiteInfo) -> None:
    leaves = datetime.now(UTC) + timedelta(days=2)
    visitor = store.add_subject(site.code, "Guest", "visitor", expires_at=leaves, actor=OPERATOR)
    consent = store.consents.record(visitor.id, NOTICE_VERSION, "signature", EVIDENCE, actor="x")
    assert consent.expires_at == leaves
    with pytest.raises(InvalidRecordError, match="needs expires_at"):
        store.add_subject(site.code, "Guest 2", "temporary", actor=OPERATOR)


# Bad input: clear errors, nothing half-written


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("subject", "0" * 32, NotFoundError, "no subject"),
        ("subject", "not-an-id", InvalidRecordError, "32-character hex id"),
        ("version", "1999-9", NotFoundError, "never published"),
        ("given_at", datetime(2025, 3, 1, 9, 30), InvalidRecordError, "timezone-aware"),
        ("given_at", "2025-03-01T09:30:00+08:00", InvalidRecordError, "a date and time"),
        ("given_at", date(2025, 3, 1), InvalidRecordError, "a date and time"),
        ("given_at", datetime.now(UTC) + timedelta(days=1), InvalidRecordError, "future"),
    ],
)
def test_malformed_consent_is_refused_and_nothing_is_written(
    store: Store,
    site: SiteInfo,
    field: str,
    value: object,
    error: type[Exception],
    message: str,
) -> None:
    subject = store.add_subject(site.code, "Li Si", SubjectKind.RESIDENT)
    events = store.verify_audit().events_checked
    args: dict[str, object] = {
        "subject_id": subject.id,
        "notice_version": NOTICE_VERSION,
        "given_at": None,
    }
    args[
        "subject_id" if field == "subject" else "notice_version" if field == "version" else field
    ] = value
    with pytest.raises(error, match=message):
        store.consents.record(
            args["subject_id"],  # type: ignore[arg-type]
            args["notice_version"],  # type: ignore[arg-type]
            "signature",
            EVIDENCE,
            given_at=args["given_at"],  # type: ignore[arg-type]
            actor=OPERATOR,
        )
    assert store.consents.list(subject.id) == []
    assert store.verify_audit().events_checked == events


def test_withdraw_unknown_consent_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.consents.withdraw("0" * 32, actor=OPERATOR)


def test_consent_at_another_site_uses_that_sites_notice(store: Store, site: SiteInfo) -> None:
    ready_site(store, "north-gate", "North Gate")
    subject = consented_subject(store, "north-gate", "Sun Qi")
    (consent,) = store.consents.list(subject.id)
    assert consent.notice_version == NOTICE_VERSION
    assert len(_enroll(store, subject.id, 1)) == 1


@pytest.mark.parametrize("kind", ["visitor", "resident"])
def test_no_consent_is_recorded_once_the_stay_has_ended(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection, kind: str
) -> None:
    # An ended visit used to hit the database's CHECK (a consent ending before it starts);
    # a moved-out resident got a consent that nothing could ever use.
    ends = datetime.now(UTC) + timedelta(days=1)
    subject = store.add_subject(
        site.code, "Guest", kind, expires_at=ends if kind == "visitor" else None, actor=OPERATOR
    )
    past = "2020-01-01 00:00:00.000000"
    column = "expires_at" if kind == "visitor" else "moved_out_at"
    raw_db.execute(f"UPDATE subject SET {column} = ? WHERE id = ?", (past, subject.id))
    events = store.verify_audit().events_checked
    with pytest.raises(PolicyError, match="moved out or their stay has ended"):
        store.consents.record(subject.id, NOTICE_VERSION, "signature", EVIDENCE, actor="x")
    assert store.consents.list(subject.id) == []
    assert store.verify_audit().events_checked == events
