"""Visitor passes: a resident's one-time code for chosen gates and a time window."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from facegate.errors import InvalidRecordError, NotFoundError, PolicyError
from facegate.store import AuditAction, Store, SubjectInfo, SubjectKind
from facegate.store.passes import MAX_ACTIVE_PASSES, MAX_PASS_GATES, PassStatus
from facegate.store.records import CredentialReason, GateOutcome
from facegate.store.schema import AuditEvent, Base, Credential, VisitorPass, utcnow

from .helpers import OPERATOR, SITE_CODE, ready_site
from .test_credentials import FORBIDDEN_FIELD_PARTS

DEVICE = "device:kiosk-1"


@pytest.fixture
def resident(store: Store) -> SubjectInfo:
    ready_site(store)
    for code, otp in (("main", True), ("east", True), ("garage", False)):
        store.gates.configure(
            SITE_CODE, code, code.title(),
            accepts_face=False, accepts_card=True, accepts_pin=True, accepts_otp=otp,
            actor=OPERATOR,
        )  # fmt: skip
    return store.add_subject(SITE_CODE, "Han Meimei", SubjectKind.RESIDENT, actor=OPERATOR)


def _window(
    start_in: timedelta = timedelta(0), length: timedelta = timedelta(hours=4)
) -> tuple[datetime, datetime]:
    start = utcnow() + start_in
    return start, start + length


def test_a_pass_opens_its_gate_once_for_the_inviting_resident(
    store: Store, resident: SubjectInfo
) -> None:
    start, end = _window()
    issued = store.passes.create(
        resident.id, ["main"], start, end, label="Aunt Li", actor=f"resident:{resident.id}"
    )
    assert issued.code.isdigit()
    assert len(issued.code) == 8
    assert issued.visitor_pass.status is PassStatus.ACTIVE
    assert issued.visitor_pass.gate_codes == ("main",)
    assert issued.code not in repr(issued)
    with store.reading() as session:
        stored = session.scalar(select(Credential).join(VisitorPass))
        assert stored is not None
        assert stored.lookup_hash != issued.code
    opened = store.credentials.check(SITE_CODE, "main", "otp", issued.code, actor=DEVICE)
    assert (opened.outcome, opened.subject_id) == (GateOutcome.OPEN, resident.id)
    again = store.credentials.check(SITE_CODE, "main", "otp", issued.code, actor=DEVICE)
    assert (again.outcome, again.reason) == (GateOutcome.DENY, CredentialReason.USED)
    events = store.audit_events(resident.id)
    decisions = [e for e in events if e.action == AuditAction.DECISION_CREDENTIAL.value]
    assert [e.detail["visitor_pass"] for e in decisions] == [issued.visitor_pass.id] * 2
    issued_events = [e for e in events if e.action == AuditAction.CREDENTIAL_ISSUED.value]
    assert issued_events[-1].detail["visitor_pass"] == issued.visitor_pass.id
    # The visitor's label is not in the audit log.
    assert all("Aunt Li" not in json.dumps(e.detail) for e in events)
    assert store.passes.list_for_subject(resident.id)[0].status is PassStatus.USED


def test_a_pass_is_refused_at_another_gate_and_before_its_window(
    store: Store, resident: SubjectInfo
) -> None:
    issued = store.passes.create(
        resident.id, ["main"], *_window(timedelta(hours=2)), actor=OPERATOR
    )
    assert issued.visitor_pass.status is PassStatus.UPCOMING
    east = store.credentials.check(SITE_CODE, "east", "otp", issued.code, actor=DEVICE)
    early = store.credentials.check(SITE_CODE, "main", "otp", issued.code, actor=DEVICE)
    # The gate answers like an unknown code: a guesser does not learn the code is live.
    unknown = CredentialReason.UNKNOWN_CREDENTIAL
    assert (east.outcome, east.reason) == (GateOutcome.DENY, unknown)
    assert (early.outcome, early.reason) == (GateOutcome.DENY, unknown)
    # The audit log keeps why.
    logged = [
        e.detail["reason"]
        for e in store.audit_events(resident.id)
        if e.action == AuditAction.DECISION_CREDENTIAL.value
    ]
    assert logged == [
        CredentialReason.NOT_FOR_THIS_GATE.value,
        CredentialReason.NOT_YET_VALID.value,
    ]
    # Neither refusal spent it.
    assert store.passes.list_for_subject(resident.id)[0].status is PassStatus.UPCOMING


def test_a_revoked_pass_is_refused_and_only_its_owner_revokes(
    store: Store, resident: SubjectInfo
) -> None:
    other = store.add_subject(SITE_CODE, "Li Lei", SubjectKind.RESIDENT, actor=OPERATOR)
    issued = store.passes.create(resident.id, ["main", "east"], *_window(), actor=OPERATOR)
    with pytest.raises(NotFoundError):
        store.passes.revoke(other.id, issued.visitor_pass.id, actor=OPERATOR)
    revoked = store.passes.revoke(resident.id, issued.visitor_pass.id, actor=OPERATOR)
    assert revoked.status is PassStatus.REVOKED
    with store.reading() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert last is not None
        assert last.action == AuditAction.CREDENTIAL_REVOKED.value
        assert json.loads(last.detail)["visitor_pass"] == issued.visitor_pass.id
    refused = store.credentials.check(SITE_CODE, "east", "otp", issued.code, actor=DEVICE)
    assert (refused.outcome, refused.reason) == (GateOutcome.DENY, CredentialReason.REVOKED)
    # Revoking again changes nothing.
    assert store.passes.revoke(resident.id, issued.visitor_pass.id, OPERATOR) == revoked


@pytest.mark.parametrize(
    ("start_in", "length", "reason"),
    [
        (timedelta(hours=-2), timedelta(hours=1), "pass_in_past"),
        (timedelta(days=8), timedelta(hours=1), "pass_too_far"),
        (timedelta(0), timedelta(hours=25), "pass_too_long"),
        (timedelta(hours=1), timedelta(0), "pass_window_order"),
    ],
)
def test_a_window_out_of_bounds_is_refused(
    store: Store, resident: SubjectInfo, start_in: timedelta, length: timedelta, reason: str
) -> None:
    with pytest.raises(InvalidRecordError) as refused:
        store.passes.create(resident.id, ["main"], *_window(start_in, length), actor=OPERATOR)
    assert refused.value.reason == reason


def test_gates_must_take_one_time_codes(store: Store, resident: SubjectInfo) -> None:
    with pytest.raises(PolicyError) as refused:
        store.passes.create(resident.id, ["main", "garage"], *_window(), actor=OPERATOR)
    assert refused.value.reason == "gate_takes_no_codes"
    with pytest.raises(NotFoundError) as unknown:
        store.passes.create(resident.id, ["main", "nowhere"], *_window(), actor=OPERATOR)
    assert (unknown.value.code, unknown.value.reason) == ("not_found", "pass_unknown_gate")
    # The caller's code is not echoed back.
    assert "nowhere" not in str(unknown.value)
    for empty in ([], ["", "  "]):
        with pytest.raises(InvalidRecordError) as no_gate:
            store.passes.create(resident.id, empty, *_window(), actor=OPERATOR)
        assert no_gate.value.reason == "pass_gates"


def test_a_pass_names_at_most_max_pass_gates_gates(store: Store, resident: SubjectInfo) -> None:
    codes = [f"gate-{n}" for n in range(MAX_PASS_GATES + 1)]
    with pytest.raises(InvalidRecordError) as refused:
        store.passes.create(resident.id, codes, *_window(), actor=OPERATOR)
    assert (refused.value.code, refused.value.reason) == ("invalid_record", "too_many_pass_gates")
    # Repeats count once: the same gate named many times is one gate.
    issued = store.passes.create(
        resident.id, ["main"] * (MAX_PASS_GATES + 1), *_window(), actor=OPERATOR
    )
    assert issued.visitor_pass.gate_codes == ("main",)


@pytest.mark.parametrize("field", ["valid_from", "valid_until"])
def test_a_time_without_its_time_zone_is_refused(
    store: Store, resident: SubjectInfo, field: str
) -> None:
    start, end = _window()
    if field == "valid_from":
        start = start.replace(tzinfo=None)
    else:
        end = end.replace(tzinfo=None)
    with pytest.raises(InvalidRecordError) as refused:
        store.passes.create(resident.id, ["main"], start, end, actor=OPERATOR)
    assert (refused.value.code, refused.value.reason) == ("invalid_record", "pass_time_zone")
    assert field in str(refused.value)
    assert store.passes.list_for_subject(resident.id) == []


def test_at_most_five_active_passes_and_codes_keep_their_own_limit(
    store: Store, resident: SubjectInfo
) -> None:
    issued = [
        store.passes.create(resident.id, ["main"], *_window(), actor=OPERATOR)
        for _ in range(MAX_ACTIVE_PASSES)
    ]
    with pytest.raises(PolicyError) as refused:
        store.passes.create(resident.id, ["main"], *_window(), actor=OPERATOR)
    assert refused.value.reason == "too_many_passes"
    # Passes do not use up the resident's own one-time codes.
    store.credentials.issue_otp(resident.id, OPERATOR)
    store.passes.revoke(resident.id, issued[0].visitor_pass.id, OPERATOR)
    store.passes.create(resident.id, ["main"], *_window(), actor=OPERATOR)


def test_a_resident_who_moved_out_cannot_invite_and_their_passes_stop(
    store: Store, resident: SubjectInfo
) -> None:
    issued = store.passes.create(resident.id, ["main"], *_window(), actor=OPERATOR)
    store.retention.record_move_out(resident.id, actor=OPERATOR)
    with pytest.raises(PolicyError):
        store.passes.create(resident.id, ["main"], *_window(), actor=OPERATOR)
    stopped = store.credentials.check(SITE_CODE, "main", "otp", issued.code, actor=DEVICE)
    assert stopped.reason is CredentialReason.SUBJECT_INACTIVE


def test_erasing_the_resident_erases_their_passes(store: Store, resident: SubjectInfo) -> None:
    store.passes.create(resident.id, ["main"], *_window(), label="Aunt Li", actor=OPERATOR)
    store.delete_subject(resident.id, "request", actor=OPERATOR)
    with store.reading() as session:
        assert session.scalars(select(VisitorPass)).all() == []
        assert session.scalars(select(Credential)).all() == []


@pytest.mark.rule("R-12")
def test_a_pass_asks_nothing_of_the_visitor_but_an_optional_label() -> None:
    columns = {column.name for column in Base.metadata.tables["visitor_pass"].columns}
    assert columns == {
        "id", "credential_id", "subject_id", "label", "valid_from", "valid_until", "created_at",
    }  # fmt: skip
    assert not [n for n in columns if any(p in n for p in FORBIDDEN_FIELD_PARTS)]
