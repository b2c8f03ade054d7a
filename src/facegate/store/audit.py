"""The append-only, hash-chained audit log (R-27).

Each event's ``hash`` is HMAC-SHA256, keyed from the site key, over the previous event's hash
and the canonical JSON of the event's fields. Someone with only database access can neither
edit nor remove an event without ``verify_audit_chain`` noticing: recomputing the chain needs
the key. ``audit_head`` names the newest event, so removing the tail is noticed too.

The tail is anchored twice more, because an attacker who drops the triggers can delete the
newest events and point ``audit_head`` at the new last (authentic) event:

- ``audit_head`` carries a seal (HMAC under its own key derived from the site key), renewed
  by every append. A head rewound by hand has no valid seal, and ``append_event`` carries
  a failing seal forward instead of sealing over it, so the cut stays visible.
- A signed receipt of the head, in a file outside the database (``audit_anchor``), written
  at close, at each check, backup and retention run, and at most once a minute while events
  are appended. It catches what the seal cannot: a head row (seal included) copied from an
  older backup of the database onto the cut log.

Limit: still undetected is a cut by someone who also holds the site key (they can seal and
sign anything), or who can also write the receipt file (deleting it is reported only as "no
receipt found"; an older copy of it anchors less). And the events appended since the newest
receipt can be cut by someone holding a copy of the database (its sealed head row) taken
after that receipt: at most ``audit_anchor.RECEIPT_INTERVAL_S`` of a running service's
events, or those since the last close or check. Keep the receipt where the database's
writers cannot write (``FACEGATE_AUDIT_RECEIPT_PATH``).

Events never hold names, face data or match scores: ``detail`` is a small flat dict.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from facegate.errors import IntegrityViolationError, InvalidRecordError, KeyMaterialError
from facegate.store.checks import check_text
from facegate.store.crypto import SiteKey
from facegate.store.schema import ACTOR_LENGTH, AuditEvent, AuditHead, utcnow

#: prev_hash of the first event.
GENESIS_HASH = "0" * 64

MAX_DETAIL_KEYS = 16
MAX_DETAIL_TEXT = 200
MAX_DETAIL_BYTES = 2048
#: Keys that would invite face data or template scores into the log.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "embedding",
        "embeddings",
        "template",
        "templates",
        "vector",
        "image",
        "photo",
        "face",
        "score",
        "scores",
        "distance",
        "distances",
        "similarity",
        "display_name",
        "name",
    }
)

DetailValue = str | int | float | bool | None


class AuditAction(StrEnum):
    SITE_CREATED = "site.created"
    SUBJECT_ADDED = "subject.added"
    CONSENT_RECORDED = "consent.recorded"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    #: Templates erased while the subject stays: their consent ended (R-07, R-24), or
    #: reconcile found them without a key (``detail.reason`` says which).
    TEMPLATES_ERASED = "templates.erased"
    TEMPLATE_ENROLLED = "template.enrolled"
    #: An enrollment refused by the enrollment guard (``gate.enrollment_guard``): ``detail``
    #: names the check, never the person matched or a score.
    ENROLLMENT_REFUSED = "enrollment.refused"
    TEMPLATES_READ = "templates.read"
    SUBJECT_DELETED = "subject.deleted"
    DECISION_VERIFY = "decision.verify"
    DECISION_IDENTIFY = "decision.identify"
    #: A decision at a gate from a card, PIN or one-time code.
    DECISION_CREDENTIAL = "decision.credential"
    #: A door opened from the console by staff, with their reason (``detail.why``).
    DECISION_REMOTE = "decision.remote"
    #: The access log exported (CSV) for a date range.
    DECISIONS_EXPORTED = "decisions.exported"
    SITE_POLICY_CHANGED = "site.policy_changed"
    NOTICE_PUBLISHED = "notice.published"
    CONSENT_RENEWAL_REQUIRED = "consent.renewal_required"
    GUARDIAN_ADDED = "guardian.added"
    SUBJECT_MOVED_OUT = "subject.moved_out"
    GATE_CONFIGURED = "gate.configured"
    CREDENTIAL_ISSUED = "credential.issued"
    CREDENTIAL_REVOKED = "credential.revoked"
    ASSESSMENT_RECORDED = "assessment.recorded"
    FILING_DUE = "operator.filing_due"
    SNAPSHOT_KEPT = "snapshot.kept"
    SNAPSHOT_READ = "snapshot.read"
    SNAPSHOT_DELETED = "snapshot.deleted"
    RETENTION_RUN = "retention.run"
    BACKUP_CREATED = "backup.created"
    BACKUP_RESTORED = "backup.restored"
    DATA_EXPORTED = "subject.exported"
    INCIDENT_RECORDED = "incident.recorded"
    ADMIN_CREATED = "admin.created"
    #: A staff account's role changed, or it was disabled or enabled (``detail`` says).
    STAFF_CHANGED = "staff.changed"
    SIGNED_IN = "session.signed_in"
    SIGNIN_FAILED = "session.signin_failed"
    SIGNED_OUT = "session.signed_out"
    SIGNIN_CODE_ISSUED = "signin_code.issued"
    DEVICE_REGISTERED = "device.registered"
    DEVICE_REVOKED = "device.revoked"
    INCIDENT_RESOLVED = "incident.resolved"
    #: A CSV import of residents (one event; each subject also gets ``subject.added``).
    SUBJECTS_IMPORTED = "subjects.imported"
    #: The site's resident list exported as CSV.
    SUBJECTS_EXPORTED = "subjects.exported"
    #: Staff tried a photo against the site's faces from the console (front desk): it opens
    #: nothing and is not a gate decision, so the access log does not list it.
    RECOGNITION_TESTED = "recognition.tested"
    #: A property company's operator account (``store.operator_accounts``): made (one event
    #: at each of its organisation's sites), its sites and counts read, an administrator's
    #: session opened at one of them; and a site put under another organisation.
    OPERATOR_ACCOUNT_CREATED = "operator_account.created"
    OPERATOR_SITES_VIEWED = "operator_account.sites_viewed"
    OPERATOR_SITE_SESSION = "operator_account.site_session"
    SITE_OPERATOR_CHANGED = "site.operator_changed"
    #: An operator account's password replaced, or it was disabled or enabled (``detail``
    #: says); at each of its organisation's sites.
    OPERATOR_ACCOUNT_CHANGED = "operator_account.changed"


DECISION_ACTIONS = frozenset(
    {
        AuditAction.DECISION_VERIFY,
        AuditAction.DECISION_IDENTIFY,
        AuditAction.DECISION_CREDENTIAL,
        AuditAction.DECISION_REMOTE,
    }
)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Outcome of ``verify_audit_chain``. ``events_checked`` counts events that verified.

    ``receipt_found``: whether a head receipt file was there to check (None: not looked for).
    """

    ok: bool
    events_checked: int
    first_bad_event_id: int | None = None
    reason: str | None = None
    receipt_found: bool | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    site_id: str | None
    subject_id: str | None
    detail: dict[str, DetailValue]


def _locked_head(session: Session, site_key: SiteKey) -> tuple[Row[int, str, str | None], bool]:
    """The chain's head row (locked for this transaction) and whether its seal is valid."""
    head = session.execute(
        select(AuditHead.last_id, AuditHead.last_hash, AuditHead.head_mac)
        .where(AuditHead.id == 1)
        .with_for_update()
    ).one_or_none()
    if head is None:
        raise IntegrityViolationError("the audit_head row is missing: the audit log was tampered")
    return head, site_key.audit_head_seal_valid(head.last_id, head.last_hash, head.head_mac)


def append_event(
    session: Session,
    site_key: SiteKey,
    *,
    actor: str,
    action: AuditAction,
    site_id: str | None = None,
    subject_id: str | None = None,
    detail: Mapping[str, DetailValue] | None = None,
) -> int:
    """Append one event in the caller's transaction and advance ``audit_head``; returns its id.

    The caller's transaction must hold the write lock (SQLite: BEGIN IMMEDIATE; elsewhere the
    row lock taken here), so that two writers cannot both extend the same head.
    """
    actor = check_text(actor, "actor", ACTOR_LENGTH)
    detail_json = canonical_json(check_detail(detail or {}))
    head, sealed = _locked_head(session, site_key)
    event_id = int(head.last_id) + 1
    at = utcnow()
    digest = chain_hash(
        site_key.audit_key,
        head.last_hash,
        event_id=event_id,
        at=at,
        actor=actor,
        action=str(action),
        site_id=site_id,
        subject_id=subject_id,
        detail=detail_json,
    )
    session.execute(
        insert(AuditEvent).values(
            id=event_id,
            at=at,
            actor=actor,
            action=str(action),
            site_id=site_id,
            subject_id=subject_id,
            detail=detail_json,
            prev_hash=head.last_hash,
            hash=digest,
        )
    )
    # A failing seal is carried forward, never replaced: sealing the next head would make a
    # rewound head look authentic again after one more event.
    head_mac = site_key.seal_audit_head(event_id, digest) if sealed else head.head_mac
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(last_id=event_id, last_hash=digest, head_mac=head_mac)
    )
    return event_id


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event for ``append_events``: the fields ``append_event`` takes."""

    actor: str
    action: AuditAction
    site_id: str | None = None
    subject_id: str | None = None
    detail: Mapping[str, DetailValue] | None = None


def append_events(session: Session, site_key: SiteKey, events: Sequence[NewEvent]) -> list[int]:
    """``append_event`` for many events at once (a CSV import): the same chain, hashes and
    head seal, with one head read and one seal. Returns the events' ids.
    """
    if not events:
        return []
    rows = [
        (
            check_text(e.actor, "actor", ACTOR_LENGTH),
            e,
            canonical_json(check_detail(e.detail or {})),
        )
        for e in events
    ]
    head, sealed = _locked_head(session, site_key)
    event_id = int(head.last_id)
    digest = head.last_hash
    values: list[dict[str, object]] = []
    for actor, event, detail_json in rows:
        event_id += 1
        at = utcnow()
        previous = digest
        digest = chain_hash(
            site_key.audit_key,
            previous,
            event_id=event_id,
            at=at,
            actor=actor,
            action=str(event.action),
            site_id=event.site_id,
            subject_id=event.subject_id,
            detail=detail_json,
        )
        values.append(
            {
                "id": event_id,
                "at": at,
                "actor": actor,
                "action": str(event.action),
                "site_id": event.site_id,
                "subject_id": event.subject_id,
                "detail": detail_json,
                "prev_hash": previous,
                "hash": digest,
            }
        )
    # One event at a time all the same: the trigger checks that each one extends the head.
    # Two statements built once and run on the connection cost a tenth of ``append_event``.
    connection = session.connection()
    events_table = cast(Table, AuditEvent.__table__)
    head_table = cast(Table, AuditHead.__table__)
    add = insert(events_table)
    advance = (
        update(head_table)
        .where(head_table.c.id == 1)
        .values(
            last_id=bindparam("new_id"),
            last_hash=bindparam("new_hash"),
            head_mac=bindparam("new_mac"),
        )
    )
    # A failing seal is carried forward, never replaced (as in ``append_event``); only the
    # last head is sealed: the ones between last no longer than this transaction.
    for index, row in enumerate(values):
        last = index == len(values) - 1
        mac = site_key.seal_audit_head(event_id, digest) if last and sealed else head.head_mac
        connection.execute(add, row)
        connection.execute(advance, {"new_id": row["id"], "new_hash": row["hash"], "new_mac": mac})
    return list(range(int(head.last_id) + 1, event_id + 1))


def check_key_matches(session: Session, site_key: SiteKey) -> None:
    """Refuse a site key that did not write this database's newest audit event.

    A wrong key would otherwise only show later, as templates that fail to decrypt and an
    audit chain that looks tampered with. Both the first and the newest event must fail
    before the key is blamed: one edited event is tampering, which ``verify_audit_chain``
    reports.
    """
    head = session.execute(select(AuditHead.last_id).where(AuditHead.id == 1)).scalar()
    if not head:
        return
    events = [session.get(AuditEvent, 1), session.get(AuditEvent, head)]
    try:
        if any(e is None or hmac.compare_digest(_event_hash(site_key, e), e.hash) for e in events):
            return
    except (ValueError, TypeError):
        return  # an unreadable row; ``verify_audit_chain`` reports it
    raise KeyMaterialError(
        "the site key does not match this database (its newest audit event was written "
        "with another key): restore the right key file or FACEGATE_SITE_KEY"
    )


def _event_hash(site_key: SiteKey, event: AuditEvent) -> str:
    return chain_hash(
        site_key.audit_key,
        event.prev_hash,
        event_id=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        site_id=event.site_id,
        subject_id=event.subject_id,
        detail=event.detail,
    )


def verify_audit_chain(session: Session, site_key: SiteKey) -> AuditReport:
    """Recompute the whole chain, compare it with ``audit_head`` and check the head's seal;
    never raises on bad rows. ``audit_anchor.verify_anchored`` also checks the receipt.

    Detects an edited event (hash mismatch), a removed event in the middle (id gap), a
    reordered or spliced event (prev_hash mismatch), a removed tail (head mismatch, or a
    head without a valid seal) and a row whose fields can no longer be read (e.g. a
    timestamp edited into garbage).
    """
    try:
        return _verify_chain(session, site_key)
    except (ValueError, TypeError, OverflowError) as exc:
        return AuditReport(False, 0, None, f"an audit row cannot be read: {exc}")


def _verify_chain(session: Session, site_key: SiteKey) -> AuditReport:
    """Recompute the whole chain and compare it with ``audit_head`` and its seal.

    Detects an edited event (hash mismatch), a removed event in the middle (id gap), a
    reordered or spliced event (prev_hash mismatch) and a removed tail (head mismatch, or a
    head rewound to an earlier event without the key to seal it).
    """
    expected_id = 1
    prev_hash = GENESIS_HASH
    rows = session.execute(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)
    ).scalars()
    for event in rows:
        checked = expected_id - 1
        if event.id != expected_id:
            return AuditReport(
                False,
                checked,
                expected_id,
                f"event {expected_id} is missing: the log jumps from {checked} to {event.id}",
            )
        if event.prev_hash != prev_hash:
            return AuditReport(
                False, checked, event.id, f"event {event.id} does not link to event {checked}"
            )
        digest = _event_hash(site_key, event)
        if not hmac.compare_digest(digest, event.hash):
            return AuditReport(
                False, checked, event.id, f"event {event.id} was altered: its hash does not match"
            )
        prev_hash = event.hash
        expected_id += 1
    last_id = expected_id - 1
    head = session.execute(
        select(AuditHead.last_id, AuditHead.last_hash, AuditHead.head_mac).where(AuditHead.id == 1)
    ).one_or_none()
    if head is None:
        return AuditReport(False, last_id, None, "the audit_head row is missing")
    if head.last_id > last_id:
        return AuditReport(
            False,
            last_id,
            last_id + 1,
            f"audit_head names event {head.last_id} but the log ends at {last_id}: "
            "events were removed from the end",
        )
    if head.last_id < last_id or head.last_hash != prev_hash:
        return AuditReport(
            False,
            last_id,
            head.last_id,
            f"audit_head (event {head.last_id}) does not match the log's last event {last_id}",
        )
    if not site_key.audit_head_seal_valid(head.last_id, head.last_hash, head.head_mac):
        # No event id in the reason: it moves on with every append, and the same failure
        # must stay one incident.
        what = "has no seal" if head.head_mac is None else "has a seal that does not match it"
        return AuditReport(
            False,
            last_id,
            None,
            f"audit_head {what}: it was rewritten outside facegate, e.g. rewound to hide "
            "events removed from the end",
        )
    return AuditReport(True, last_id)


def events_for_subject(
    session: Session, subject_id: str, action: AuditAction | None = None
) -> list[AuditRecord]:
    """A subject's audit events, oldest first (optionally only one action)."""
    stmt = select(AuditEvent).where(AuditEvent.subject_id == subject_id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == str(action))
    return [
        AuditRecord(
            id=event.id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            site_id=event.site_id,
            subject_id=event.subject_id,
            detail=json.loads(event.detail),
        )
        for event in session.execute(stmt.order_by(AuditEvent.id)).scalars()
    ]


def check_detail(detail: Mapping[str, Any]) -> dict[str, DetailValue]:
    """A copy of ``detail`` if it is small, flat and free of face-data keys; else refused."""
    if len(detail) > MAX_DETAIL_KEYS:
        raise InvalidRecordError(
            f"audit detail has more than {MAX_DETAIL_KEYS} keys", reason="audit_detail"
        )
    checked: dict[str, DetailValue] = {}
    for key, value in detail.items():
        if not isinstance(key, str) or not key or len(key) > 64:
            raise InvalidRecordError(
                f"audit detail key {key!r} must be text of 1-64 characters", reason="audit_detail"
            )
        if key.lower() in FORBIDDEN_DETAIL_KEYS:
            raise InvalidRecordError(
                f"audit detail key {key!r} is refused: the log holds no names, face data or scores",
                reason="audit_detail",
            )
        if isinstance(value, str):
            if len(value) > MAX_DETAIL_TEXT:
                raise InvalidRecordError(
                    f"audit detail {key!r} is over {MAX_DETAIL_TEXT} chars", reason="audit_detail"
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidRecordError(
                    f"audit detail {key!r} is not finite", reason="audit_detail"
                )
        elif not (value is None or isinstance(value, int)):
            raise InvalidRecordError(
                f"audit detail {key!r} must be text, a number, a boolean or null, "
                f"not {type(value).__name__}",
                reason="audit_detail",
            )
        checked[key] = value
    if len(canonical_json(checked).encode("utf-8")) > MAX_DETAIL_BYTES:
        raise InvalidRecordError(
            f"audit detail is larger than {MAX_DETAIL_BYTES} bytes", reason="audit_detail"
        )
    return checked


def chain_hash(
    audit_key: bytes,
    prev_hash: str,
    *,
    event_id: int,
    at: datetime,
    actor: str,
    action: str,
    site_id: str | None,
    subject_id: str | None,
    detail: str,
) -> str:
    """HMAC-SHA256 (hex) over ``prev_hash`` and the canonical JSON of one event's fields."""
    fields = {
        "id": event_id,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "site_id": site_id,
        "subject_id": subject_id,
        "detail": detail,
    }
    message = prev_hash.encode("ascii") + b"\n" + canonical_json(fields).encode("utf-8")
    return hmac.new(audit_key, message, hashlib.sha256).hexdigest()


def canonical_json(value: object) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
