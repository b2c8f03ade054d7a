"""Retention runs by itself: move-out, visits and consents end, and the data goes (R-24)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, func, select

from facegate.errors import InvalidRecordError, NotFoundError, PolicyError
from facegate.store import SiteInfo, Store, SubjectKind, SubjectStatus
from facegate.store.records import CredentialStatus, DeletionReason, ProcessingMethod
from facegate.store.retention import (
    MAX_RESIDENT_RETENTION_DAYS,
    MIN_SNAPSHOT_RETENTION_DAYS,
    _ended_with_templates,
)
from facegate.store.schema import AuditEvent, Consent, Template, utcnow

from .helpers import (
    MODEL,
    NOTICE_VERSION,
    OPERATOR,
    consented_subject,
    enrolled_subject,
    random_embeddings,
)

PIN = "482913"


def _runs(store: Store) -> list[dict[str, object]]:
    """The details of every ``retention.run`` audit event, oldest first."""
    with store.reading() as session:
        rows = session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "retention.run")
        )
        return [json.loads(row) for row in rows]


def _visitor(store: Store, site: SiteInfo, ends: datetime, kind: SubjectKind) -> str:
    subject = store.add_subject(site.code, "Wang Wu", kind, expires_at=ends, actor=OPERATOR)
    store.consents.record(subject.id, NOTICE_VERSION, "signature", "scan:visit", actor=OPERATOR)
    store.enroll(subject.id, random_embeddings(2, seed=9), MODEL, [0.9, 0.9], OPERATOR)
    return subject.id


@pytest.mark.rule("R-24", "R-23")
def test_r24_a_resident_is_purged_n_days_after_move_out(store: Store, site: SiteInfo) -> None:
    store.retention.set_policy(site.code, resident_retention_days=10, actor=OPERATOR)
    subject, _ = enrolled_subject(store, count=2)
    neighbour, _ = enrolled_subject(store, count=1, seed=4, name="Li Si")
    moved = store.retention.record_move_out(subject.id, actor=OPERATOR)

    early = store.retention.run(moved + timedelta(days=10) - timedelta(seconds=1))
    assert (early.total, early.receipts) == (0, ())
    assert store.get_subject(subject.id).status is SubjectStatus.ACTIVE

    report = store.retention.run(moved + timedelta(days=10))
    (receipt,) = report.receipts
    assert report.residents_purged == 1
    assert (receipt.subject_id, receipt.reason, receipt.subject_erased) == (
        subject.id,
        DeletionReason.MOVE_OUT,
        True,
    )
    assert (receipt.templates_deleted, receipt.keys_destroyed) == (2, 1)
    assert store.get_subject(subject.id).status is SubjectStatus.DELETED
    assert store.keystore.get(subject.id, site.id) is None
    assert store.get_subject(neighbour.id).template_count == 1
    # Idempotent: a second run finds nothing left to do.
    again = store.retention.run(moved + timedelta(days=11))
    assert again.total == 0
    assert [r["residents"] for r in _runs(store)] == [0, 1, 0]
    assert store.verify_audit().ok


@pytest.mark.rule("R-24")
@pytest.mark.parametrize("kind", [SubjectKind.VISITOR, SubjectKind.TEMPORARY])
def test_r24_visitors_and_temporary_residents_expire_by_themselves(
    store: Store, site: SiteInfo, kind: SubjectKind
) -> None:
    ends = utcnow() + timedelta(hours=1)
    subject_id = _visitor(store, site, ends, kind)
    assert store.retention.run(ends - timedelta(seconds=1)).total == 0
    report = store.retention.run(ends)
    (receipt,) = report.receipts
    assert report.visitors_expired == 1
    assert (receipt.subject_id, receipt.reason, receipt.templates_deleted) == (
        subject_id,
        DeletionReason.EXPIRY,
        2,
    )
    tombstone = store.get_subject(subject_id)
    assert (tombstone.status, tombstone.display_name) == (SubjectStatus.DELETED, None)


@pytest.mark.rule("R-24", "R-07")
def test_r24_an_ended_consent_takes_its_templates_but_the_subject_keeps_their_pin(
    store: Store, site: SiteInfo
) -> None:
    subject = store.add_subject(site.code, "Zhang San", SubjectKind.RESIDENT, actor=OPERATOR)
    ends = utcnow() + timedelta(days=1)
    store.consents.record(
        subject.id, NOTICE_VERSION, "signature", "scan:form", expires_at=ends, actor=OPERATOR
    )
    store.enroll(subject.id, random_embeddings(3), MODEL, [0.9] * 3, OPERATOR)
    pin = store.credentials.set_pin(subject.id, PIN, OPERATOR)

    report = store.retention.run(ends)
    (receipt,) = report.receipts
    assert report.consents_expired == 1
    assert (receipt.reason, receipt.subject_erased, receipt.templates_deleted) == (
        DeletionReason.EXPIRY,
        False,
        3,
    )
    assert receipt.keys_destroyed == 1
    after = store.get_subject(subject.id)
    assert (after.status, after.template_count) == (SubjectStatus.ACTIVE, 0)
    assert store.keystore.get(subject.id, site.id) is None
    # losing face entry never removes the other way in.
    (credential,) = store.credentials.list_for_subject(subject.id)
    assert (credential.id, credential.status) == (pin.id, CredentialStatus.ACTIVE)
    assert store.audit_events(subject.id)[-1].action == "templates.erased"
    assert store.retention.run(ends + timedelta(days=1)).total == 0


@pytest.mark.rule("R-24")
def test_r24_a_run_that_dies_part_way_is_finished_by_the_next(store: Store, site: SiteInfo) -> None:
    ends = utcnow() + timedelta(hours=1)
    ids = [_visitor(store, site, ends, SubjectKind.VISITOR) for _ in range(3)]

    def crash(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.retention.run(ends, on_progress=crash)
    statuses = [store.get_subject(i).status for i in ids]
    assert statuses.count(SubjectStatus.DELETED) == 1
    report = store.retention.run(ends)
    assert report.visitors_expired == 2
    assert all(store.get_subject(i).status is SubjectStatus.DELETED for i in ids)
    # One receipt per subject, never two.
    receipts = [e for i in ids for e in store.audit_events(i) if e.action == "subject.deleted"]
    assert len(receipts) == 3
    assert store.verify_audit().ok


def test_move_out_is_for_residents_and_happens_once(store: Store, site: SiteInfo) -> None:
    subject = consented_subject(store)
    when = utcnow() - timedelta(days=2)
    assert store.retention.record_move_out(subject.id, when, actor=OPERATOR) == when
    events = store.audit_events(subject.id)
    assert events[-1].action == "subject.moved_out"
    assert store.retention.record_move_out(subject.id, actor=OPERATOR) == when
    assert store.audit_events(subject.id) == events
    assert store.get_subject(subject.id).moved_out_at == when

    visitor = store.add_subject(
        site.code,
        "Wang Wu",
        SubjectKind.VISITOR,
        expires_at=utcnow() + timedelta(days=1),
        actor=OPERATOR,
    )
    with pytest.raises(InvalidRecordError, match="only residents move out"):
        store.retention.record_move_out(visitor.id, actor=OPERATOR)
    store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    with pytest.raises(NotFoundError, match="deleted"):
        store.retention.record_move_out(subject.id, actor=OPERATOR)
    with pytest.raises(InvalidRecordError, match="timezone-aware"):
        store.retention.record_move_out(visitor.id, datetime(2026, 1, 1), actor=OPERATOR)


@pytest.mark.rule("R-24")
def test_r24_policy_changes_are_bounded_and_audited(store: Store, site: SiteInfo) -> None:
    policy = store.retention.policy(site.code)
    assert policy.keep_disputed_frames is False
    changed = store.retention.set_policy(
        site.code, resident_retention_days=0, snapshot_retention_days=3, actor=OPERATOR
    )
    assert (changed.resident_retention_days, changed.snapshot_retention_days) == (0, 3)
    assert store.retention.policy(site.code) == changed
    for bad in (
        {"resident_retention_days": MAX_RESIDENT_RETENTION_DAYS + 1},
        {"resident_retention_days": -1},
        {"snapshot_retention_days": MIN_SNAPSHOT_RETENTION_DAYS - 1},
        {"snapshot_retention_days": True},
        {},
    ):
        with pytest.raises(InvalidRecordError):
            store.retention.set_policy(site.code, actor=OPERATOR, **bad)
    assert store.retention.policy(site.code) == changed


@pytest.mark.rule("R-21", "R-01")
def test_r21_keeping_frames_needs_a_notice_that_says_so(store: Store, site: SiteInfo) -> None:
    with pytest.raises(PolicyError, match="notice"):
        store.retention.set_policy(site.code, keep_disputed_frames=True, actor=OPERATOR)
    assert store.retention.policy(site.code).keep_disputed_frames is False
    current = store.notices.current(site.code).content
    wider = dataclasses.replace(
        current, methods=current.methods | {ProcessingMethod.KEEP_DISPUTED_FRAMES}
    )
    store.notices.publish(site.code, "2026-2", wider, actor=OPERATOR)
    policy = store.retention.set_policy(site.code, keep_disputed_frames=True, actor=OPERATOR)
    assert policy.keep_disputed_frames is True


@pytest.mark.parametrize(
    "statement",
    [
        select(Consent.subject_id).where(_ended_with_templates(utcnow())),
        select(func.count()).select_from(Template).where(Template.consent_id.in_(["0" * 32])),
    ],
    ids=["ended consents", "templates of a consent"],
)
def test_templates_are_found_by_consent_without_scanning_them_all(
    store: Store, statement: Select[Any]
) -> None:
    # Ended consents pile up in the ledger; each scanning 100,000 templates made a
    # retention run take half a minute per thousand of them.
    with store.reading() as session:
        compiled = statement.compile(
            session.get_bind(), compile_kwargs={"render_postcompile": True}
        )
        plan = session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(None for _ in compiled.positiontup or ())
        )
        steps = [str(row[-1]) for row in plan]
    assert not [step for step in steps if step.startswith("SCAN template")], steps
