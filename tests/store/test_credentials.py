"""Cards, PINs and one-time codes at a gate: entry without the face (R-08, R-10, R-11, R-12).

Subjects here are created with ``add_subject`` only: a credential needs no consent.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from sqlalchemy import update

from facegate.errors import (
    AlreadyExistsError,
    ConsentRequiredError,
    InvalidRecordError,
    NotFoundError,
    PolicyError,
)
from facegate.privacy.secrets import MAX_PIN_DIGITS, OTP_DIGITS, SecretHasher, is_trivial_pin
from facegate.store import EMBEDDING_DIM, SiteInfo, Store, SubjectInfo, SubjectKind, backoff
from facegate.store.backoff import FREE_FAILURES, MAX_WAIT, wait_after
from facegate.store.credentials import (
    MAX_ACTIVE_OTPS,
    MAX_OTP_TTL,
    MIN_OTP_TTL,
    OUTCOME_BY_REASON,
    Credentials,
)
from facegate.store.records import (
    CredentialDecision,
    CredentialInfo,
    CredentialKind,
    CredentialReason,
    CredentialStatus,
    GateOutcome,
)
from facegate.store.schema import Base, Credential, GuessBackoff, Subject, new_id, utcnow

from .helpers import MODEL, OPERATOR, SITE_CODE, consented_subject, enrolled_subject

GATE = "north"
PIN = "739182"
OTHER_PIN = "480317"
CARD = "ZX90-7788-QW"
DEVICE = "reader-7"
#: Column or parameter names that would ask for data entry does not need (R-12).
FORBIDDEN_FIELD_PARTS = (
    "id_card",
    "idcard",
    "id_number",
    "national_id",
    "identity",
    "passport",
    "phone",
    "mobile",
    "telephone",
    "address",
    "deed",
    "email",
    "wechat",
)


@pytest.fixture
def gate(store: Store, site: SiteInfo) -> str:
    """A gate where residents use the face, a card, a PIN or a one-time code."""
    store.gates.configure(
        SITE_CODE,
        GATE,
        "North gate",
        accepts_face=True,
        accepts_card=True,
        accepts_pin=True,
        accepts_otp=True,
        actor=OPERATOR,
    )
    return GATE


def _resident(store: Store, name: str = "Wang Wu", site_code: str = SITE_CODE) -> SubjectInfo:
    return store.add_subject(site_code, name, SubjectKind.RESIDENT, actor=OPERATOR)


def _check(
    store: Store,
    kind: CredentialKind,
    secret: str,
    subject_id: str | None = None,
    gate_code: str = GATE,
    site_code: str = SITE_CODE,
) -> CredentialDecision:
    return store.credentials.check(
        site_code, gate_code, kind, secret, subject_id=subject_id, actor=DEVICE, device=DEVICE
    )


def _answer(decision: CredentialDecision) -> tuple[GateOutcome, CredentialReason]:
    return decision.outcome, decision.reason


def _decision_events(raw_db: sqlite3.Connection) -> list[tuple[str | None, dict[str, object]]]:
    rows = raw_db.execute(
        "SELECT subject_id, detail FROM audit_event WHERE action = 'decision.credential'"
        " ORDER BY id"
    ).fetchall()
    return [(subject_id, json.loads(detail)) for subject_id, detail in rows]


def _set(store: Store, credential_id: str, **values: object) -> None:
    """Move a credential in time (expiry, lock) without waiting: no timing in tests."""
    with store.transaction() as session:
        session.execute(update(Credential).where(Credential.id == credential_id).values(**values))


# Cards


def test_card_opens_and_every_decision_is_audited(
    store: Store, gate: str, raw_db: sqlite3.Connection
) -> None:
    subject = _resident(store)
    card = store.credentials.issue_card(subject.id, CARD, OPERATOR)
    assert (card.kind, card.status, card.subject_id) == (
        CredentialKind.CARD,
        CredentialStatus.ACTIVE,
        subject.id,
    )

    opened = _check(store, CredentialKind.CARD, CARD)
    assert _answer(opened) == (GateOutcome.OPEN, CredentialReason.OK)
    assert opened.opens
    assert (opened.subject_id, opened.gate_code, opened.kind) == (
        subject.id,
        GATE,
        CredentialKind.CARD,
    )
    # Separators and case do not matter: the number is normalised before hashing.
    assert _check(store, CredentialKind.CARD, "zx90 7788 qw").opens
    unknown = _check(store, CredentialKind.CARD, "ZX90-7788-QX")
    assert _answer(unknown) == (GateOutcome.DENY, CredentialReason.UNKNOWN_CREDENTIAL)
    assert unknown.subject_id is None

    events = _decision_events(raw_db)
    assert [e[1]["reason"] for e in events] == ["ok", "ok", "unknown_credential"]
    assert events[0] == (
        subject.id,
        {
            "gate": GATE,
            "kind": "card",
            "outcome": "open",
            "reason": "ok",
            "credential_id": card.id,
            "device": DEVICE,
        },
    )
    assert events[2][0] is None
    assert opened.audit_event_id < unknown.audit_event_id
    assert store.verify_audit().ok


def test_a_card_number_is_issued_once_and_recycled_after_revocation(
    store: Store, gate: str
) -> None:
    first = _resident(store, "Wang Wu")
    second = _resident(store, "Zhao Liu")
    old = store.credentials.issue_card(first.id, CARD, OPERATOR)
    with pytest.raises(AlreadyExistsError, match=old.id):
        store.credentials.issue_card(second.id, "zx907788qw", OPERATOR)

    revoked = store.credentials.revoke(old.id, OPERATOR)
    assert revoked.status is CredentialStatus.REVOKED
    assert revoked.revoked_at is not None
    assert _answer(_check(store, CredentialKind.CARD, CARD)) == (
        GateOutcome.DENY,
        CredentialReason.REVOKED,
    )
    # Revoking twice changes nothing.
    assert store.credentials.revoke(old.id, OPERATOR) == revoked

    store.credentials.issue_card(second.id, CARD, OPERATOR)
    decision = _check(store, CredentialKind.CARD, CARD)
    assert (decision.outcome, decision.subject_id) == (GateOutcome.OPEN, second.id)
    assert [c.status for c in store.credentials.list_for_subject(first.id)] == [
        CredentialStatus.REVOKED
    ]


# PINs


def test_pin_opens_for_its_subject_only(store: Store, gate: str) -> None:
    subject = _resident(store)
    other = _resident(store, "Zhao Liu")
    info = store.credentials.set_pin(subject.id, PIN, OPERATOR)
    assert (info.kind, info.status) == (CredentialKind.PIN, CredentialStatus.ACTIVE)

    decision = _check(store, CredentialKind.PIN, PIN, subject.id)
    assert _answer(decision) == (GateOutcome.OPEN, CredentialReason.OK)
    assert decision.subject_id == subject.id
    assert _answer(_check(store, CredentialKind.PIN, PIN, other.id)) == (
        GateOutcome.DENY,
        CredentialReason.WRONG_PIN,
    )


def test_setting_a_pin_revokes_the_previous_one(store: Store, gate: str) -> None:
    subject = _resident(store)
    first = store.credentials.set_pin(subject.id, PIN, OPERATOR)
    second = store.credentials.set_pin(subject.id, OTHER_PIN, OPERATOR)

    listed = {c.id: c.status for c in store.credentials.list_for_subject(subject.id)}
    assert listed == {first.id: CredentialStatus.REVOKED, second.id: CredentialStatus.ACTIVE}
    assert _check(store, CredentialKind.PIN, PIN, subject.id).reason is CredentialReason.WRONG_PIN
    assert _check(store, CredentialKind.PIN, OTHER_PIN, subject.id).opens


def _end_waits(store: Store) -> None:
    """Let every back-off wait run out (the tests check answers, not the clock)."""
    with store.transaction() as session:
        session.execute(update(GuessBackoff).values(blocked_until=utcnow() - timedelta(seconds=1)))


def _by_number(store: Store, number: str, pin: str, device: str = DEVICE) -> CredentialDecision:
    return store.credentials.check(
        SITE_CODE, GATE, CredentialKind.PIN, pin, resident_number=number, actor=device,
        device=device,
    )  # fmt: skip


def _pace(decision: CredentialDecision) -> tuple[GateOutcome, CredentialReason, int | None]:
    return decision.outcome, decision.reason, decision.retry_after_s


@pytest.mark.rule("R-10", "R-11")
def test_wrong_pins_slow_a_number_down_and_never_lock_the_resident_out(
    store: Store, gate: str
) -> None:
    subject = _resident(store)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    assert subject.resident_number is not None
    wrong = (GateOutcome.DENY, CredentialReason.WRONG_PIN)
    for _ in range(FREE_FAILURES):
        assert _answer(_by_number(store, subject.resident_number, OTHER_PIN)) == wrong
    # Now this number must wait; even the right PIN is not checked during the wait.
    waiting = _by_number(store, subject.resident_number, PIN)
    assert _pace(waiting) == (GateOutcome.TRY_ANOTHER, CredentialReason.TOO_MANY_TRIES, 1)
    # A stranger keeps going from many devices: the wait grows but stays capped...
    for attempt in range(40):
        _end_waits(store)
        decision = _by_number(store, subject.resident_number, OTHER_PIN, f"reader-{attempt}")
        assert _answer(decision) == wrong
    refused = _by_number(store, subject.resident_number, PIN, "reader-x")
    assert refused.reason is CredentialReason.TOO_MANY_TRIES
    assert refused.retry_after_s is not None
    assert refused.retry_after_s <= MAX_WAIT.total_seconds()
    assert wait_after(10_000) == MAX_WAIT
    # ...and once it has run out, the resident's right PIN opens and clears the count.
    _end_waits(store)
    assert _by_number(store, subject.resident_number, PIN, "reader-x").opens
    assert _answer(_by_number(store, subject.resident_number, OTHER_PIN)) == wrong
    # Nothing about the credential itself changed: it was never locked.
    [listed] = store.credentials.list_for_subject(subject.id)
    assert listed.status is CredentialStatus.ACTIVE


class _CountingHasher(SecretHasher):
    """The real argon2 hasher, counting verifications (``burn`` is one too): the slow
    step a timing probe would see."""

    def __init__(self) -> None:
        super().__init__()
        self.slow_calls = 0

    def verify(self, encoded: str, secret: str) -> bool:
        self.slow_calls += 1
        return super().verify(encoded, secret)


@pytest.mark.rule("R-11")
def test_a_resident_number_and_an_unknown_number_get_the_same_answers_and_the_same_work(
    store: Store, gate: str
) -> None:
    """The PIN pad must not tell who lives here: answer, wait and argon2 work per try are
    the same for a resident's number with a PIN and for a number nobody has."""
    subject = _resident(store)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    assert subject.resident_number is not None
    unknown = next(str(n) for n in range(100_000, 1_000_000) if str(n) != subject.resident_number)
    hasher = _CountingHasher()
    checker = Credentials(store, hasher)

    def sequence(number: str, device: str) -> list[tuple[object, ...]]:
        seen: list[tuple[object, ...]] = []
        for attempt in range(12):
            if attempt == 8:
                _end_waits(store)
            before = hasher.slow_calls
            decision = checker.check(
                SITE_CODE, GATE, CredentialKind.PIN, OTHER_PIN, resident_number=number,
                actor=device, device=device,
            )  # fmt: skip
            seen.append((*_pace(decision), hasher.slow_calls - before))
        return seen

    known = sequence(subject.resident_number, "reader-a")
    assert sequence(unknown, "reader-b") == known
    assert {step[1] for step in known} == {
        CredentialReason.WRONG_PIN,
        CredentialReason.TOO_MANY_TRIES,
    }


@pytest.mark.rule("R-11")
def test_one_pin_pad_cannot_sweep_through_resident_numbers(store: Store, gate: str) -> None:
    numbers = [str(n) for n in range(200_000, 200_000 + FREE_FAILURES + 1)]
    for number in numbers[:FREE_FAILURES]:
        assert _by_number(store, number, PIN).reason is CredentialReason.WRONG_PIN
    # A fresh number, but the same device: it waits.
    assert _by_number(store, numbers[-1], PIN).reason is CredentialReason.TOO_MANY_TRIES
    # Another gate's pad is not held up by this one.
    assert _by_number(store, numbers[-1], PIN, "reader-9").reason is CredentialReason.WRONG_PIN


def test_a_pin_probe_learns_nothing_about_subjects(store: Store, gate: str) -> None:
    """Wrong PIN, unknown subject, subject without PIN, subject of another site and
    deleted subject all answer the same."""
    with_pin = _resident(store, "Wang Wu")
    store.credentials.set_pin(with_pin.id, PIN, OPERATOR)
    without_pin = _resident(store, "Zhao Liu")
    store.create_site("other-site", "Other", actor=OPERATOR)
    elsewhere = _resident(store, "Qian Qi", site_code="other-site")
    store.credentials.set_pin(elsewhere.id, PIN, OPERATOR)
    deleted = _resident(store, "Sun Ba")
    store.credentials.set_pin(deleted.id, PIN, OPERATOR)
    store.delete_subject(deleted.id, "request", OPERATOR)

    answers = set()
    for pin, subject_id in (
        (OTHER_PIN, with_pin.id),
        (PIN, new_id()),
        (PIN, without_pin.id),
        (PIN, elsewhere.id),
        (PIN, deleted.id),
    ):
        _end_waits(store)  # one device tries them all: its back-off is not the point here
        answers.add(_answer(_check(store, CredentialKind.PIN, pin, subject_id)))
    assert answers == {(GateOutcome.DENY, CredentialReason.WRONG_PIN)}


@pytest.mark.rule("R-11")
def test_a_pin_opens_with_the_resident_number_in_place_of_the_subject_id(
    store: Store, gate: str
) -> None:
    subject = _resident(store)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    store.create_site("other-site", "Other", actor=OPERATOR)
    elsewhere = _resident(store, "Qian Qi", site_code="other-site")
    store.credentials.set_pin(elsewhere.id, PIN, OPERATOR)
    assert subject.resident_number is not None
    assert elsewhere.resident_number is not None

    def by_number(number: str, pin: str) -> CredentialDecision:
        return store.credentials.check(
            SITE_CODE, GATE, CredentialKind.PIN, pin, resident_number=number, actor=DEVICE
        )

    decision = by_number(subject.resident_number, PIN)
    assert _answer(decision) == (GateOutcome.OPEN, CredentialReason.OK)
    assert decision.subject_id == subject.id
    unknown = next(
        str(n)
        for n in range(100_000, 1_000_000)
        if str(n) not in {subject.resident_number, elsewhere.resident_number}
    )
    # A wrong PIN, a number nobody has and another site's number answer alike.
    wrong = (GateOutcome.DENY, CredentialReason.WRONG_PIN)
    answers = {
        _answer(by_number(subject.resident_number, OTHER_PIN)),
        _answer(by_number(unknown, PIN)),
    }
    if elsewhere.resident_number != subject.resident_number:
        answers.add(_answer(by_number(elsewhere.resident_number, PIN)))
    assert answers == {wrong}


def test_a_pin_check_takes_exactly_one_of_subject_id_and_resident_number(
    store: Store, gate: str
) -> None:
    subject = _resident(store)
    assert subject.resident_number is not None
    for subject_id, number in ((None, None), (subject.id, subject.resident_number)):
        with pytest.raises(InvalidRecordError, match="subject id or the resident number"):
            store.credentials.check(
                SITE_CODE,
                GATE,
                CredentialKind.PIN,
                PIN,
                subject_id=subject_id,
                resident_number=number,
                actor=DEVICE,
            )
    for number in ("12a456", "1234567", ""):
        with pytest.raises(InvalidRecordError, match="resident number"):
            store.credentials.check(
                SITE_CODE, GATE, CredentialKind.PIN, PIN, resident_number=number, actor=DEVICE
            )
    with pytest.raises(InvalidRecordError, match="names its owner"):
        store.credentials.check(
            SITE_CODE, GATE, CredentialKind.CARD, CARD, resident_number="123456", actor=DEVICE
        )


def test_resident_numbers_are_six_random_digits_unique_within_the_site(
    store: Store, site: SiteInfo
) -> None:
    subjects = [_resident(store, f"Person {n}") for n in range(40)]
    numbers = [s.resident_number for s in subjects]
    assert all(n is not None and len(n) == 6 and n.isdigit() for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert store.get_subject(subjects[0].id).resident_number == numbers[0]
    # Kept on the tombstone, so never handed to someone else.
    store.delete_subject(subjects[0].id, "request", OPERATOR)
    assert store.get_subject(subjects[0].id).resident_number == numbers[0]


# One-time codes


def test_one_time_code_opens_once(store: Store, gate: str, raw_db: sqlite3.Connection) -> None:
    subject = _resident(store)
    issued = store.credentials.issue_otp(subject.id, OPERATOR)
    assert len(issued.code) == OTP_DIGITS
    assert issued.code.isdigit()
    assert issued.code not in repr(issued)

    opened = _check(store, CredentialKind.OTP, issued.code)
    assert (opened.outcome, opened.subject_id) == (GateOutcome.OPEN, subject.id)
    replay = _check(store, CredentialKind.OTP, issued.code)
    assert _answer(replay) == (GateOutcome.DENY, CredentialReason.USED)
    assert replay.subject_id is None

    [listed] = store.credentials.list_for_subject(subject.id)
    assert (listed.status, listed.id) == (CredentialStatus.USED, issued.credential_id)
    assert listed.used_at is not None
    assert [e[1]["reason"] for e in _decision_events(raw_db)] == ["ok", "used"]


def test_one_time_code_expires(store: Store, gate: str) -> None:
    subject = _resident(store)
    issued = store.credentials.issue_otp(subject.id, OPERATOR, ttl=MIN_OTP_TTL)
    assert issued.expires_at - store.credentials.list_for_subject(subject.id)[0].created_at == (
        MIN_OTP_TTL
    )
    _set(store, issued.credential_id, expires_at=utcnow() - timedelta(seconds=1))
    assert _answer(_check(store, CredentialKind.OTP, issued.code)) == (
        GateOutcome.TRY_ANOTHER,
        CredentialReason.EXPIRED,
    )
    # Not spent by the refusal.
    [listed] = store.credentials.list_for_subject(subject.id)
    assert listed.status is CredentialStatus.ACTIVE


@pytest.mark.rule("R-11")
def test_a_person_holds_a_bounded_number_of_unused_one_time_codes(store: Store, gate: str) -> None:
    subject = _resident(store)
    issued = [store.credentials.issue_otp(subject.id, OPERATOR) for _ in range(MAX_ACTIVE_OTPS)]
    with pytest.raises(PolicyError, match="unused one-time codes"):
        store.credentials.issue_otp(subject.id, OPERATOR)
    # Spending or revoking one frees a place.
    assert _check(store, CredentialKind.OTP, issued[0].code).opens
    store.credentials.revoke(issued[1].credential_id, OPERATOR)
    store.credentials.issue_otp(subject.id, OPERATOR)
    store.credentials.issue_otp(subject.id, OPERATOR)
    with pytest.raises(PolicyError):
        store.credentials.issue_otp(subject.id, OPERATOR)


def test_revoked_one_time_code_is_refused(store: Store, gate: str) -> None:
    subject = _resident(store)
    issued = store.credentials.issue_otp(subject.id, OPERATOR)
    store.credentials.revoke(issued.credential_id, OPERATOR)
    assert _answer(_check(store, CredentialKind.OTP, issued.code)) == (
        GateOutcome.DENY,
        CredentialReason.REVOKED,
    )


@pytest.mark.parametrize("ttl", [MIN_OTP_TTL - timedelta(seconds=1), MAX_OTP_TTL * 2])
def test_one_time_code_lifetime_is_bounded(store: Store, gate: str, ttl: timedelta) -> None:
    subject = _resident(store)
    with pytest.raises(InvalidRecordError, match="one-time code lives between"):
        store.credentials.issue_otp(subject.id, OPERATOR, ttl=ttl)
    assert store.credentials.list_for_subject(subject.id) == []


# What each gate accepts, and where


@pytest.mark.rule("R-10")
def test_gate_that_does_not_take_a_kind_says_try_another(store: Store, gate: str) -> None:
    subject = _resident(store)
    store.gates.configure(
        SITE_CODE,
        "garage",
        "Garage",
        accepts_face=False,
        accepts_card=True,
        accepts_pin=False,
        accepts_otp=False,
        actor=OPERATOR,
    )
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    issued = store.credentials.issue_otp(subject.id, OPERATOR)
    not_here = (GateOutcome.TRY_ANOTHER, CredentialReason.GATE_DOES_NOT_ACCEPT)
    assert _answer(_check(store, CredentialKind.PIN, PIN, subject.id, gate_code="garage")) == (
        not_here
    )
    assert _answer(_check(store, CredentialKind.OTP, issued.code, gate_code="garage")) == (not_here)
    # The refused code was not spent: it still opens a gate that takes codes.
    assert _check(store, CredentialKind.OTP, issued.code).opens


def test_credentials_do_not_open_another_sites_gates(store: Store, gate: str) -> None:
    subject = _resident(store)
    store.credentials.issue_card(subject.id, CARD, OPERATOR)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    issued = store.credentials.issue_otp(subject.id, OPERATOR)
    store.create_site("other-site", "Other", actor=OPERATOR)
    store.gates.configure(
        "other-site",
        "east",
        "East",
        accepts_face=False,
        accepts_card=True,
        accepts_pin=True,
        accepts_otp=True,
        actor=OPERATOR,
    )

    def elsewhere(kind: CredentialKind, secret: str, subject_id: str | None = None) -> object:
        return _answer(_check(store, kind, secret, subject_id, "east", "other-site"))

    unknown = (GateOutcome.DENY, CredentialReason.UNKNOWN_CREDENTIAL)
    assert elsewhere(CredentialKind.CARD, CARD) == unknown
    assert elsewhere(CredentialKind.OTP, issued.code) == unknown
    assert elsewhere(CredentialKind.PIN, PIN, subject.id) == (
        GateOutcome.DENY,
        CredentialReason.WRONG_PIN,
    )
    # The other site's gate code asked at this site does not exist here.
    with pytest.raises(NotFoundError, match="no gate 'east' at site 'sunny-garden'"):
        _check(store, CredentialKind.CARD, CARD, gate_code="east")
    # And the refused code still opens at home.
    assert _check(store, CredentialKind.OTP, issued.code).opens


def test_a_subject_who_moved_out_is_refused_and_gets_nothing_new(store: Store, gate: str) -> None:
    moved = _resident(store, "Wang Wu")
    card = store.credentials.issue_card(moved.id, CARD, OPERATOR)
    with store.transaction() as session:
        session.execute(update(Subject).where(Subject.id == moved.id).values(moved_out_at=utcnow()))
    assert _answer(_check(store, CredentialKind.CARD, CARD)) == (
        GateOutcome.DENY,
        CredentialReason.SUBJECT_INACTIVE,
    )
    with pytest.raises(PolicyError, match="moved out"):
        store.credentials.issue_otp(moved.id, OPERATOR)
    assert [c.id for c in store.credentials.list_for_subject(moved.id)] == [card.id]


def test_a_visitor_whose_stay_ended_is_refused(store: Store, gate: str) -> None:
    visitor = store.add_subject(
        SITE_CODE,
        "Li Visitor",
        SubjectKind.VISITOR,
        expires_at=utcnow() + timedelta(hours=2),
        actor=OPERATOR,
    )
    issued = store.credentials.issue_otp(visitor.id, OPERATOR, ttl=MAX_OTP_TTL)
    with store.transaction() as session:
        session.execute(
            update(Subject)
            .where(Subject.id == visitor.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert _answer(_check(store, CredentialKind.OTP, issued.code)) == (
        GateOutcome.DENY,
        CredentialReason.SUBJECT_INACTIVE,
    )
    with pytest.raises(PolicyError, match="stay has ended"):
        store.credentials.set_pin(visitor.id, PIN, OPERATOR)


def test_a_deleted_subjects_credentials_are_gone(store: Store, gate: str) -> None:
    deleted = _resident(store, "Zhao Liu")
    store.credentials.issue_card(deleted.id, CARD, OPERATOR)
    store.credentials.set_pin(deleted.id, PIN, OPERATOR)
    store.delete_subject(deleted.id, "request", OPERATOR)
    assert store.credentials.list_for_subject(deleted.id) == []
    assert _answer(_check(store, CredentialKind.CARD, CARD)) == (
        GateOutcome.DENY,
        CredentialReason.UNKNOWN_CREDENTIAL,
    )
    with pytest.raises(NotFoundError, match="deleted"):
        store.credentials.issue_card(deleted.id, CARD, OPERATOR)
    with pytest.raises(NotFoundError, match="deleted"):
        store.credentials.set_pin(deleted.id, PIN, OPERATOR)


# The rules


@pytest.mark.rule("R-08")
def test_declining_or_withdrawing_face_consent_never_removes_entry(
    store: Store, gate: str, raw_db: sqlite3.Connection
) -> None:
    """A subject who never consented and one who withdrew both enter with a PIN, a card or a
    code at the very gate where a consenting resident uses their face."""
    assert store.gates.get(SITE_CODE, gate).accepts_face
    face_user, _ = enrolled_subject(store, name="Zhang San")
    assert store.load_subject_templates(face_user.id, MODEL, OPERATOR, "gate_entry").shape == (
        3,
        EMBEDDING_DIM,
    )
    declined = _resident(store, "Wang Wu")
    withdrew = consented_subject(store, name="Zhao Liu")
    store.consents.withdraw_all(withdrew.id, actor=OPERATOR)
    for subject in (declined, withdrew):
        assert not store.get_subject(subject.id).has_active_consent
        with pytest.raises(ConsentRequiredError):
            store.load_subject_templates(subject.id, MODEL, OPERATOR, "gate_entry")

    for index, subject in enumerate((declined, withdrew)):
        store.credentials.set_pin(subject.id, PIN, OPERATOR)
        card = f"CARD-000{index}"
        store.credentials.issue_card(subject.id, card, OPERATOR)
        issued = store.credentials.issue_otp(subject.id, OPERATOR)
        for kind, secret, claimed in (
            (CredentialKind.PIN, PIN, subject.id),
            (CredentialKind.CARD, card, None),
            (CredentialKind.OTP, issued.code, None),
        ):
            decision = _check(store, kind, secret, claimed)
            assert _answer(decision) == (GateOutcome.OPEN, CredentialReason.OK)
            assert decision.subject_id == subject.id
    assert len(_decision_events(raw_db)) == 6


@pytest.mark.rule("R-11")
def test_non_face_check_takes_only_the_credential(store: Store, gate: str) -> None:
    """Same gate as the face; each entry needs only the credential, nothing registered again."""
    # The check path asks for where (site, gate), what (kind, secret), whose PIN (by id or
    # by the random resident number), who asks.
    assert list(inspect.signature(Credentials.check).parameters) == [
        "self",
        "site_code",
        "gate_code",
        "kind",
        "secret",
        "subject_id",
        "resident_number",
        "actor",
        "device",
    ]
    subject = _resident(store)
    store.credentials.issue_card(subject.id, CARD, OPERATOR)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    issued_before = len(store.credentials.list_for_subject(subject.id))
    for _ in range(3):
        assert _check(store, CredentialKind.CARD, CARD).opens
    assert _check(store, CredentialKind.PIN, PIN, subject.id).opens
    # Entering registered nothing new.
    assert len(store.credentials.list_for_subject(subject.id)) == issued_before
    gate_info = store.gates.get(SITE_CODE, gate)
    assert gate_info.accepts_face
    assert all(gate_info.accepts(kind) for kind in CredentialKind)


@pytest.mark.rule("R-12")
def test_no_table_or_api_asks_for_unrelated_personal_data() -> None:
    tables = ("subject", "credential", "gate")
    columns = [
        (table, column.name) for table in tables for column in Base.metadata.tables[table].columns
    ]
    assert ("subject", "display_name") in columns  # the inspection does see the columns
    assert [
        (table, name)
        for table, name in columns
        if any(part in name.lower() for part in FORBIDDEN_FIELD_PARTS)
    ] == []

    apis: list[Callable[..., object]] = [
        Store.add_subject,
        Credentials.issue_card,
        Credentials.set_pin,
        Credentials.issue_otp,
        Credentials.check,
    ]
    parameters = [
        (api.__name__, name) for api in apis for name in inspect.signature(api).parameters
    ]
    assert ("issue_card", "card_number") in parameters
    assert [
        (api, name)
        for api, name in parameters
        if any(part in name.lower() for part in FORBIDDEN_FIELD_PARTS)
    ] == []


def test_records_never_carry_secrets(store: Store, gate: str) -> None:
    subject = _resident(store)
    store.credentials.issue_card(subject.id, CARD, OPERATOR)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    store.credentials.issue_otp(subject.id, OPERATOR)
    names = {f.name for f in dataclasses.fields(CredentialInfo)}
    assert not {n for n in names if "hash" in n or "secret" in n or "code" in n or "number" in n}
    listed = store.credentials.list_for_subject(subject.id)
    assert sorted(c.kind for c in listed) == sorted(CredentialKind)
    assert all(isinstance(c, CredentialInfo) for c in listed)


def test_secrets_are_never_stored_in_clear(
    store: Store, gate: str, raw_db: sqlite3.Connection, db_path: Path
) -> None:
    """No PIN, card number or code bytes in the database file, its WAL or the key store."""
    long_pin = "7391820465"
    card = "ZXQW-9071-KJ"
    subject = _resident(store)
    store.credentials.set_pin(subject.id, long_pin, OPERATOR)
    store.credentials.issue_card(subject.id, card, OPERATOR)
    issued = store.credentials.issue_otp(subject.id, OPERATOR)
    assert _check(store, CredentialKind.PIN, long_pin, subject.id).opens
    assert _check(store, CredentialKind.CARD, card).opens

    stored = dict(
        raw_db.execute("SELECT kind, coalesce(secret_hash, lookup_hash) FROM credential").fetchall()
    )
    assert stored["pin"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    for kind in ("card", "otp"):
        assert len(stored[kind]) == 64
        int(stored[kind], 16)
    # The argon2 input is keyed by the site key: the clear PIN alone does not verify, so a
    # stolen database cannot be searched for PINs.
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(stored["pin"], long_pin)

    files = sorted(p for p in db_path.parent.iterdir() if p.is_file())
    assert any(p.name.endswith("-wal") for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    for secret in (long_pin, card, "ZXQW9071KJ", issued.code):
        assert secret.encode() not in blob
        assert secret.encode("utf-16-le") not in blob


# Bad input


@pytest.mark.parametrize(
    "pin",
    [
        *("73918", "12ab56", "７３９１８２", " 739182", "9" * (MAX_PIN_DIGITS + 1), ""),
        *("111111", "123456", "654321", "890123", "121212", "123123", "147258"),
    ],
)
def test_bad_pin_is_refused_without_echo(store: Store, gate: str, pin: str) -> None:
    subject = _resident(store)
    with pytest.raises(InvalidRecordError, match="PIN") as caught:
        store.credentials.set_pin(subject.id, pin, OPERATOR)
    if pin.strip():
        assert pin.strip() not in str(caught.value)
    assert store.credentials.list_for_subject(subject.id) == []


@pytest.mark.parametrize("pin", [PIN, OTHER_PIN, "135790", "20250101"])
def test_reasonable_pins_are_not_called_trivial(pin: str) -> None:
    assert not is_trivial_pin(pin)


@pytest.mark.parametrize("number", ["", "   ", "-- --", "AB1", "CARD#1", "卡123456", "A" * 65])
def test_bad_card_number_is_refused(store: Store, gate: str, number: str) -> None:
    subject = _resident(store)
    with pytest.raises(InvalidRecordError, match="card number"):
        store.credentials.issue_card(subject.id, number, OPERATOR)
    assert store.credentials.list_for_subject(subject.id) == []


def test_unknown_or_malformed_subject_is_a_typed_error(store: Store, gate: str) -> None:
    missing = new_id()
    for call in (
        lambda: store.credentials.issue_card(missing, CARD, OPERATOR),
        lambda: store.credentials.set_pin(missing, PIN, OPERATOR),
        lambda: store.credentials.issue_otp(missing, OPERATOR),
        lambda: store.credentials.list_for_subject(missing),
        lambda: store.credentials.revoke(missing, OPERATOR),
    ):
        with pytest.raises(NotFoundError):
            call()
    with pytest.raises(InvalidRecordError, match="32-character hex id"):
        store.credentials.issue_card("not-an-id", CARD, OPERATOR)


def test_malformed_check_is_a_typed_error_not_a_decision(
    store: Store, gate: str, raw_db: sqlite3.Connection
) -> None:
    subject = _resident(store)
    cases: list[tuple[str, str, str | None, str]] = [
        ("pin", PIN, None, "give the subject id"),
        ("card", CARD, subject.id, "names its owner"),
        ("face", "x", None, "kind 'face' is not one of"),
        ("otp", "1234", None, "one-time code is"),
        ("otp", "abcdefgh", None, "one-time code is"),
        ("pin", "12ab", subject.id, "PIN is"),
        ("pin", "1" * (MAX_PIN_DIGITS + 1), subject.id, "PIN is"),
        ("card", "", None, "card number"),
    ]
    for kind, secret, subject_id, message in cases:
        with pytest.raises(InvalidRecordError, match=message):
            store.credentials.check(
                SITE_CODE, GATE, kind, secret, subject_id=subject_id, actor=DEVICE
            )
    with pytest.raises(NotFoundError, match="no gate 'south'"):
        _check(store, CredentialKind.CARD, CARD, gate_code="south")
    assert _decision_events(raw_db) == []


def test_every_reason_has_an_outcome() -> None:
    assert set(OUTCOME_BY_REASON) == set(CredentialReason)
    assert [r for r, o in OUTCOME_BY_REASON.items() if o is GateOutcome.OPEN] == [
        CredentialReason.OK
    ]


@pytest.mark.rule("R-11")
def test_pins_sent_at_once_for_one_number_are_not_all_checked(store: Store, gate: str) -> None:
    """A wait started while a PIN was being hashed holds for it: the back-off is checked
    again under the write lock, so a burst of guesses gets no more tries than a sequence."""
    subject = _resident(store)
    store.credentials.set_pin(subject.id, PIN, OPERATOR)
    assert subject.resident_number is not None
    number = subject.resident_number
    checker = store.credentials
    original = checker._pin_attempt
    wrong = 0

    def racing(*args: object, **kwargs: object) -> object:
        attempt = original(*args, **kwargs)  # type: ignore[arg-type]
        nonlocal wrong
        # Meanwhile, other requests for the same number fail and start a wait.
        while wrong < FREE_FAILURES:
            wrong += 1
            with store.transaction() as session:
                site_id = store.get_site(SITE_CODE).id
                backoff.record_failure(session, site_id, attempt.sources, utcnow())
        return attempt

    checker._pin_attempt = racing  # type: ignore[method-assign,assignment]
    try:
        decision = _by_number(store, number, PIN)
    finally:
        checker._pin_attempt = original  # type: ignore[method-assign]
    assert decision.reason is CredentialReason.TOO_MANY_TRIES
    assert not decision.opens
