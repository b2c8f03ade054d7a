"""The access log a manager reads: a site's gate decisions with the gate's, device's and
person's names put back, filtered and paged, and remote door openings.

The audit log holds ids only (never names); the names are joined in here, at read time,
from the rows that still exist: a deleted resident reads as deleted, a non-match as
unknown. Nothing here reads or returns a score.

An auditor's explanation of one face decision (:func:`decision_explanation`) reads what the
decider recorded (quality and liveness reasons, the matched template's id, the margin band,
operating point and model) and puts back the template's enrollment time while the template
exists: erasing the person (R-23) deletes the template row, and the explanation then says
so, naming no one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from facegate.errors import InvalidRecordError
from facegate.store.audit import DECISION_ACTIONS, AuditAction, DetailValue
from facegate.store.detail_keys import MARGIN_KEY, MODEL_KEY, TEMPLATE_KEY
from facegate.store.gates import gate_by_code
from facegate.store.queries import site_by_code, usable_consent
from facegate.store.records import GateOutcome
from facegate.store.retention import subject_current
from facegate.store.schema import (
    AdminAccount,
    AuditEvent,
    Consent,
    Gate,
    GateDevice,
    Subject,
    Template,
    utcnow,
)
from facegate.store.service import Store

#: The most rows one page of the log holds.
MAX_PAGE = 200
#: The most rows one CSV export holds (more is refused: export a shorter range).
MAX_EXPORT_ROWS = 100_000
#: The ``kind`` of a door opened from the console.
REMOTE_KIND = "remote"
#: The ``reason`` of a door opened from the console.
REMOTE_REASON = "remote_open"
#: Characters a search for a person may hold.
MAX_SEARCH = 100
_DECISION_VALUES = tuple(action.value for action in DECISION_ACTIONS)


class PersonState(StrEnum):
    """Who came through, as far as the log can say."""

    #: A resident whose record still exists (their name is shown).
    KNOWN = "known"
    #: No one was matched (or the credential names no one).
    UNKNOWN = "unknown"
    #: The resident was matched then, and deleted since: no name is left.
    DELETED = "deleted"
    #: Staff opened the door from the console.
    STAFF = "staff"
    #: A visitor's pass opened it; the name is the resident who invited them.
    VISITOR = "visitor"


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """Which decisions to read; ``None`` is no filter. ``since`` inclusive, ``until``
    exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    gate: str | None = None
    outcome: str | None = None
    kind: str | None = None
    #: Part of a resident's name, or their resident number.
    person: str | None = None


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One row of the access log, names put back. Never a score."""

    id: int
    at: datetime
    gate: str | None
    gate_name: str | None
    device_id: str | None
    device_name: str | None
    subject_id: str | None
    person: str | None
    person_state: PersonState
    kind: str | None
    outcome: str | None
    reason: str | None
    #: Which liveness check refused a face (a code), if one did.
    check: str | None
    #: Why staff opened the door (remote openings only).
    why: str | None


@dataclass(frozen=True, slots=True)
class DecisionPage:
    rows: list[LoggedDecision]
    total: int


def decision_page(
    store: Store, site_code: str, where: DecisionFilter, offset: int, limit: int
) -> DecisionPage:
    """One page of the site's decisions matching ``where``, newest first, and how many
    match in all."""
    limit = max(0, min(limit, MAX_PAGE))
    with store.reading() as session:
        query = _matching(session, site_code, where)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        events = session.scalars(
            query.order_by(AuditEvent.id.desc()).offset(max(0, offset)).limit(limit)
        ).all()
        return DecisionPage(rows=_named(session, events), total=int(total))


def decision_rows(store: Store, site_code: str, where: DecisionFilter) -> list[LoggedDecision]:
    """Every decision matching ``where``, oldest first, for an export. More than
    ``MAX_EXPORT_ROWS`` is refused (``InvalidRecordError``), never cut short silently."""
    with store.reading() as session:
        events = session.scalars(
            _matching(session, site_code, where)
            .order_by(AuditEvent.id.asc())
            .limit(MAX_EXPORT_ROWS + 1)
        ).all()
        if len(events) > MAX_EXPORT_ROWS:
            raise InvalidRecordError(
                f"more than {MAX_EXPORT_ROWS} decisions: export a shorter range",
                reason="log_export_too_many",
            )
        return _named(session, events)


def logged_decision(store: Store, site_code: str, event_id: int) -> LoggedDecision | None:
    """The decision with audit event ``event_id`` if it is one of the site's; else None."""
    with store.reading() as session:
        site = site_by_code(session, site_code)
        event = session.get(AuditEvent, event_id)
        if event is None or event.site_id != site.id or event.action not in _DECISION_VALUES:
            return None
        return _named(session, [event])[0]


class TemplateState(StrEnum):
    """What the explanation can say about the template that matched."""

    #: The template still exists: its enrollment time is shown.
    ENROLLED = "enrolled"
    #: It was erased since (deletion, withdrawal, expiry): nothing of it is left.
    ERASED = "erased"


@dataclass(frozen=True, slots=True)
class DecisionExplanation:
    """Why one decision went the way it did, for an auditor. Never a score or template.

    ``template_id`` and ``enrolled_at`` are None when no template matched (or the decision
    predates explanations); ``enrolled_at`` is also None once the template is erased.
    """

    id: int
    at: datetime
    kind: str | None
    outcome: str | None
    reason: str | None
    check: str | None
    liveness: str | None
    quality_reasons: tuple[str, ...]
    template_id: str | None
    template_state: TemplateState | None
    enrolled_at: datetime | None
    margin_band: str | None
    operating_point: str | None
    model: str | None
    #: An older engine opened it (the person was asked to enroll again).
    engine: str | None


def decision_explanation(store: Store, site_code: str, event_id: int) -> DecisionExplanation | None:
    """The explanation of the site's decision ``event_id``; None if it is not one of the
    site's decisions (``NotFoundError`` for an unknown site)."""
    with store.reading() as session:
        site = site_by_code(session, site_code)
        event = session.get(AuditEvent, event_id)
        if event is None or event.site_id != site.id or event.action not in _DECISION_VALUES:
            return None
        detail = json.loads(event.detail)
        template_id = _text(detail.get(TEMPLATE_KEY))
        enrolled_at = None
        state = None
        if template_id is not None:
            enrolled_at = session.scalar(
                select(Template.created_at).where(Template.id == template_id)
            )
            state = TemplateState.ERASED if enrolled_at is None else TemplateState.ENROLLED
        quality = _text(detail.get("quality_reasons"))
        return DecisionExplanation(
            id=event.id,
            at=event.at,
            kind=_text(detail.get("kind")),
            outcome=_text(detail.get("outcome")),
            reason=_text(detail.get("reason")),
            check=_text(detail.get("check")),
            liveness=_text(detail.get("liveness")),
            quality_reasons=tuple(quality.split(",")) if quality else (),
            template_id=template_id,
            template_state=state,
            enrolled_at=enrolled_at,
            margin_band=_text(detail.get(MARGIN_KEY)),
            operating_point=_text(detail.get("operating_point")),
            model=_text(detail.get(MODEL_KEY)),
            engine=_text(detail.get("engine")),
        )


def matched_template_id(
    store: Store, subject_id: str, model: str, index: int, count: int
) -> str | None:
    """The id of the subject's ``index``-th usable template of ``model``, in the order the
    store matches them (created, then id), if they still have exactly ``count`` (else one
    was added or erased since the match, and the template is not named: None)."""
    now = utcnow()
    with store.reading() as session:
        ids = session.scalars(
            select(Template.id)
            .join(Subject, Subject.id == Template.subject_id)
            .join(Consent, Consent.id == Template.consent_id)
            .where(
                Subject.id == subject_id,
                subject_current(now),
                usable_consent(now),
                Template.model_name == model,
            )
            .order_by(Template.created_at, Template.id)
        ).all()
    return ids[index] if len(ids) == count and 0 <= index < count else None


class RemoteReason(StrEnum):
    """Why staff opened a gate from the console. A fixed list, not free text: the reason
    goes into the hash-chained audit log, which erasure cannot rewrite, and free text
    would soon hold a resident's name."""

    VISITOR = "visitor"
    DELIVERY = "delivery"
    RESIDENT_LOCKED_OUT = "resident_locked_out"
    EMERGENCY = "emergency"
    MAINTENANCE = "maintenance"
    OTHER = "other"


def open_remotely(
    store: Store, site_code: str, gate_code: str, why: RemoteReason, actor: str
) -> int:
    """Record a door opened from the console by ``actor`` for reason ``why``; returns the
    decision's audit event id. ``NotFoundError`` for an unknown gate."""
    store.gates.get(site_code, gate_code)
    return store.record_decision(
        site_code=site_code,
        actor=actor,
        action=AuditAction.DECISION_REMOTE,
        subject_id=None,
        outcome=GateOutcome.OPEN.value,
        detail={
            "gate": gate_code,
            "kind": REMOTE_KIND,
            "reason": REMOTE_REASON,
            "why": why.value,
        },
    )


def record_export(
    store: Store, site_code: str, actor: str, where: DecisionFilter, rows: int
) -> int:
    """Audit an export of the access log: who, which range and filters, how many rows."""
    detail: dict[str, DetailValue] = {
        "format": "csv",
        "from": None if where.since is None else where.since.isoformat(),
        "to": None if where.until is None else where.until.isoformat(),
        "gate": where.gate,
        "outcome": where.outcome,
        "kind": where.kind,
        # Whether a person was searched for, not who: the log holds no names.
        "person_search": bool(where.person),
        "rows": rows,
    }
    with store.transaction() as session:
        site = site_by_code(session, site_code)
        return store.audit(
            session, actor, AuditAction.DECISIONS_EXPORTED, site_id=site.id, detail=detail
        )


def _matching(session: Session, site_code: str, where: DecisionFilter) -> Select[AuditEvent]:
    site = site_by_code(session, site_code)
    conditions: list[ColumnElement[bool]] = [
        AuditEvent.site_id == site.id,
        AuditEvent.action.in_(_DECISION_VALUES),
    ]
    if where.since is not None:
        conditions.append(AuditEvent.at >= where.since)
    if where.until is not None:
        conditions.append(AuditEvent.at < where.until)
    for key, value in (("gate", where.gate), ("outcome", where.outcome), ("kind", where.kind)):
        if value:
            conditions.append(func.json_extract(AuditEvent.detail, f"$.{key}") == value)
    if where.gate:
        gate_by_code(session, site_code, where.gate)  # an unknown gate is a 404, not an empty log
    if where.person and where.person.strip():
        text = where.person.strip()[:MAX_SEARCH]
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        people = select(Subject.id).where(
            Subject.site_id == site.id,
            or_(
                Subject.display_name.ilike(pattern, escape="\\"),
                Subject.resident_number == text,
            ),
        )
        conditions.append(AuditEvent.subject_id.in_(people))
    return select(AuditEvent).where(*conditions)


def _named(session: Session, events: Sequence[AuditEvent]) -> list[LoggedDecision]:
    details = [json.loads(event.detail) for event in events]
    site_ids = {event.site_id for event in events}
    subjects = _lookup(
        session,
        select(Subject.id, Subject.display_name).where(
            Subject.id.in_({e.subject_id for e in events if e.subject_id})
        ),
    )
    gates = {
        (site_id, code): name
        for site_id, code, name in session.execute(
            select(Gate.site_id, Gate.code, Gate.name).where(
                Gate.site_id.in_(site_ids), Gate.code.in_(_texts(d.get("gate") for d in details))
            )
        )
    }
    devices = _lookup(
        session,
        select(GateDevice.id, GateDevice.name).where(
            GateDevice.id.in_(_texts(d.get("device") for d in details))
        ),
    )
    staff = _lookup(
        session,
        select(AdminAccount.id, AdminAccount.username).where(
            AdminAccount.id.in_({_staff_id(e.actor) for e in events})
        ),
    )
    rows = []
    for event, detail in zip(events, details, strict=True):
        gate = _text(detail.get("gate"))
        device = _text(detail.get("device"))
        person, state = _person(event, subjects, staff)
        if detail.get("visitor_pass") and state is PersonState.KNOWN:
            state = PersonState.VISITOR
        rows.append(
            LoggedDecision(
                id=event.id,
                at=event.at,
                gate=gate,
                gate_name=gates.get((event.site_id or "", gate)) if gate else None,
                device_id=device,
                device_name=devices.get(device) if device else None,
                subject_id=event.subject_id,
                person=person,
                person_state=state,
                kind=_text(detail.get("kind")),
                outcome=_text(detail.get("outcome")),
                reason=_text(detail.get("reason")),
                check=_text(detail.get("check")),
                why=_text(detail.get("why")),
            )
        )
    return rows


def _person(
    event: AuditEvent, subjects: dict[str, str | None], staff: dict[str, str | None]
) -> tuple[str | None, PersonState]:
    if event.action == AuditAction.DECISION_REMOTE.value:
        return staff.get(_staff_id(event.actor)), PersonState.STAFF
    if event.subject_id is None or event.subject_id not in subjects:
        # No subject, or an id that names no one (a wrong resident number's stand-in).
        return None, PersonState.UNKNOWN
    name = subjects[event.subject_id]
    return (name, PersonState.KNOWN) if name else (None, PersonState.DELETED)


def _staff_id(actor: str) -> str:
    """The account id in a staff actor ``<role>:<id>``."""
    return actor.partition(":")[2]


def _lookup(
    session: Session, query: Select[str, str] | Select[str, str | None]
) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for key, value in session.execute(query):
        found[key] = value
    return found


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _texts(values: Iterable[object]) -> set[str]:
    return {v for v in values if isinstance(v, str)}
