"""Live checks of one site's configuration, for the compliance report (R-33).

Each check reads the store (read-only) and says whether the site is set up the way a rule
needs: OK, ATTENTION (the operator must act), NOT_CONFIGURED (a required record is missing)
or NOT_APPLICABLE (the site's settings make the rule moot, e.g. no frames are kept so
none needs blurring). Explanations hold counts and codes, never names or face data.

Each check also carries a message ``key`` and its ``values`` (counts, dates, codes), so the
console can say it in the manager's language (page words ``live_<key>`` in
``api.words.reports``); ``explanation`` is the English line for the CLI and Markdown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from facegate.core.config import Settings
from facegate.errors import FacegateError
from facegate.privacy.rules import RuleId
from facegate.store.audit import AuditAction
from facegate.store.engine import sqlite_path
from facegate.store.filing import FILING_THRESHOLD, enrolled_people
from facegate.store.queries import count, site_by_code
from facegate.store.records import EXPIRING_KINDS, SubjectKind, SubjectStatus
from facegate.store.retention import declares_kept_frames
from facegate.store.schema import (
    AuditEvent,
    Consent,
    FilingAlert,
    Gate,
    ImpactAssessment,
    Incident,
    Notice,
    Site,
    Snapshot,
    Subject,
    utcnow,
)
from facegate.store.service import Store

#: PIPL 56: impact assessment records are kept at least three years.
ASSESSMENT_RETENTION = timedelta(days=3 * 365)


class LiveStatus(StrEnum):
    OK = "ok"
    ATTENTION = "attention"
    NOT_CONFIGURED = "not_configured"
    NOT_APPLICABLE = "not_applicable"


#: Worst first: a rule's live status is the worst of its checks'.
LIVE_SEVERITY = (
    LiveStatus.ATTENTION,
    LiveStatus.NOT_CONFIGURED,
    LiveStatus.OK,
    LiveStatus.NOT_APPLICABLE,
)


@dataclass(frozen=True, slots=True)
class LiveCheck:
    """One check of the site's configuration and the rules it bears on."""

    name: str
    rules: tuple[RuleId, ...]
    status: LiveStatus
    #: One line saying what was found.
    explanation: str
    #: The message's key (its page words are ``live_<key>``) and the values it names.
    key: str = ""
    values: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LiveReport:
    site_code: str
    checked_at: datetime
    checks: tuple[LiveCheck, ...]

    def for_rule(self, rule_id: RuleId) -> tuple[LiveCheck, ...]:
        return tuple(check for check in self.checks if rule_id in check.rules)


def worst_status(statuses: Iterator[LiveStatus] | tuple[LiveStatus, ...]) -> LiveStatus | None:
    """The most severe of ``statuses`` (see ``LIVE_SEVERITY``); None when there are none."""
    found = set(statuses)
    return next((status for status in LIVE_SEVERITY if status in found), None)


def check_site(store: Store, site_code: str, now: datetime | None = None) -> LiveReport:
    """Run every live check on the site ``site_code``; ``NotFoundError`` if there is none."""
    now = now or utcnow()
    with store.reading() as session:
        site = site_by_code(session, site_code)
        checks = [check(session, site, now) for check in _SESSION_CHECKS]
    audit = store.verify_audit()
    if audit.ok:
        checks.append(
            _check(
                "audit_chain",
                (RuleId.R27, RuleId.R28),
                LiveStatus.OK,
                f"the audit chain verifies: {audit.events_checked} events, none altered or removed",
                "audit_ok",
                events=audit.events_checked,
            )
        )
    else:
        checks.append(
            _check(
                "audit_chain",
                (RuleId.R27, RuleId.R28),
                LiveStatus.ATTENTION,
                f"the audit chain is broken at event {audit.first_bad_event_id}: {audit.reason}",
                "audit_broken",
                event=audit.first_bad_event_id or 0,
                reason=audit.reason or "",
            )
        )
    checks.append(check_key_separation(store.settings))
    return LiveReport(site_code=site.code, checked_at=now, checks=tuple(checks))


def _check(
    name: str,
    rules: tuple[RuleId, ...],
    status: LiveStatus,
    text: str,
    key: str,
    **values: str | int,
) -> LiveCheck:
    return LiveCheck(
        name=name, rules=rules, status=status, explanation=text, key=key, values=values
    )


def _day(when: datetime) -> str:
    return f"{when:%Y-%m-%d}"


def _latest_notice(session: Session, site: Site) -> Notice | None:
    return session.scalar(
        select(Notice).where(Notice.site_id == site.id).order_by(Notice.seq.desc()).limit(1)
    )


def _notice(session: Session, site: Site, now: datetime) -> LiveCheck:
    latest = _latest_notice(session, site)
    if latest is None:
        return _check(
            "notice",
            (RuleId.R01,),
            LiveStatus.NOT_CONFIGURED,
            "no processing notice is published: no consent can be recorded and nobody can "
            "be enrolled",
            "notice_missing",
        )
    versions = count(session, Notice, Notice.site_id == site.id)
    return _check(
        "notice",
        (RuleId.R01,),
        LiveStatus.OK,
        f"notice {latest.version} published {latest.published_at:%Y-%m-%d} "
        f"({versions} version(s) on record)",
        "notice_ok",
        version=latest.version,
        published=_day(latest.published_at),
        versions=versions,
    )


def _assessment(session: Session, site: Site, now: datetime) -> LiveCheck:
    latest = session.scalar(
        select(ImpactAssessment)
        .where(ImpactAssessment.site_id == site.id)
        .order_by(ImpactAssessment.assessed_at.desc())
        .limit(1)
    )
    if latest is None:
        return _check(
            "impact_assessment",
            (RuleId.R30,),
            LiveStatus.NOT_CONFIGURED,
            "no impact assessment is on record: enrollment is refused until one is recorded",
            "assessment_missing",
        )
    if latest.retain_until < latest.assessed_at + ASSESSMENT_RETENTION:
        return _check(
            "impact_assessment",
            (RuleId.R30,),
            LiveStatus.ATTENTION,
            f"the assessment of {latest.assessed_at:%Y-%m-%d} is kept only until "
            f"{latest.retain_until:%Y-%m-%d}, less than three years",
            "assessment_short",
            assessed=_day(latest.assessed_at),
            retain_until=_day(latest.retain_until),
        )
    return _check(
        "impact_assessment",
        (RuleId.R30,),
        LiveStatus.OK,
        f"assessment of {latest.assessed_at:%Y-%m-%d} on record, kept until "
        f"{latest.retain_until:%Y-%m-%d}",
        "assessment_ok",
        assessed=_day(latest.assessed_at),
        retain_until=_day(latest.retain_until),
    )


def _gates(session: Session, site: Site, now: datetime) -> LiveCheck:
    gates = list(session.scalars(select(Gate).where(Gate.site_id == site.id).order_by(Gate.code)))
    if not gates:
        return _check(
            "gates",
            (RuleId.R10,),
            LiveStatus.NOT_CONFIGURED,
            "no gate is configured at this site",
            "gates_none",
        )
    face_only = [g.code for g in gates if not (g.accepts_card or g.accepts_pin or g.accepts_otp)]
    if face_only:
        # The CHECK constraint makes this unreachable unless the schema was tampered with.
        return _check(
            "gates",
            (RuleId.R10,),
            LiveStatus.ATTENTION,
            f"{len(face_only)} of {len(gates)} gates accept only the face: {', '.join(face_only)}",
            "gates_face_only",
            face_only=len(face_only),
            total=len(gates),
            codes=", ".join(face_only),
        )
    with_face = sum(1 for g in gates if g.accepts_face)
    return _check(
        "gates",
        (RuleId.R10,),
        LiveStatus.OK,
        f"all {len(gates)} gates accept a card, PIN or one-time code ({with_face} also the face)",
        "gates_ok",
        total=len(gates),
        with_face=with_face,
    )


def _raw_frames(session: Session, site: Site, now: datetime) -> LiveCheck:
    rules = (RuleId.R21,)
    if not site.keep_disputed_frames:
        return _check(
            "raw_frames",
            rules,
            LiveStatus.OK,
            "keep_disputed_frames is off: no frame is kept after the template is made",
            "frames_off",
        )
    try:
        declared = declares_kept_frames(session, site.id)
    except FacegateError as exc:
        return _check(
            "raw_frames",
            rules,
            LiveStatus.ATTENTION,
            f"keep_disputed_frames is on but its notice cannot be read ({exc})",
            "frames_notice_unreadable",
        )
    if not declared:
        return _check(
            "raw_frames",
            rules,
            LiveStatus.ATTENTION,
            "keep_disputed_frames is on but the current notice does not declare keeping them",
            "frames_undeclared",
        )
    return _check(
        "raw_frames",
        rules,
        LiveStatus.OK,
        "frames of disputed entries are kept, as the current notice declares",
        "frames_declared",
    )


def _bystanders(session: Session, site: Site, now: datetime) -> LiveCheck:
    kept = count(session, Snapshot, Snapshot.site_id == site.id)
    if not site.keep_disputed_frames and kept == 0:
        return _check(
            "bystander_redaction",
            (RuleId.R25,),
            LiveStatus.NOT_APPLICABLE,
            "no frame is kept (keep_disputed_frames is off), so no bystander needs blurring",
            "bystanders_none",
        )
    redacted = session.scalar(
        select(func.coalesce(func.sum(Snapshot.bystanders_redacted), 0)).where(
            Snapshot.site_id == site.id
        )
    )
    return _check(
        "bystander_redaction",
        (RuleId.R25,),
        LiveStatus.OK,
        f"{kept} kept frame(s), blurred before writing ({redacted} bystander face(s) redacted)",
        "bystanders_ok",
        kept=kept,
        redacted=int(redacted or 0),
    )


def _snapshot_retention(session: Session, site: Site, now: datetime) -> LiveCheck:
    rules = (RuleId.R24,)
    overdue = count(session, Snapshot, Snapshot.site_id == site.id, Snapshot.expires_at <= now)
    if overdue:
        return _check(
            "snapshot_retention",
            rules,
            LiveStatus.ATTENTION,
            f"{overdue} kept frame(s) are past their expiry: run the retention job",
            "snapshots_overdue",
            overdue=overdue,
        )
    if site.snapshot_retention_days <= 0:
        return _check(
            "snapshot_retention",
            rules,
            LiveStatus.NOT_CONFIGURED,
            f"snapshot_retention_days is {site.snapshot_retention_days}: set a positive value",
            "snapshots_unset",
            days=site.snapshot_retention_days,
        )
    return _check(
        "snapshot_retention",
        rules,
        LiveStatus.OK,
        f"kept frames expire after {site.snapshot_retention_days} days; none is overdue",
        "snapshots_ok",
        days=site.snapshot_retention_days,
    )


def _subject_retention(session: Session, site: Site, now: datetime) -> LiveCheck:
    rules = (RuleId.R24,)
    days = site.resident_retention_days
    if days is None or days < 0:
        return _check(
            "subject_retention",
            rules,
            LiveStatus.NOT_CONFIGURED,
            "resident_retention_days is not set: moved-out residents would never be purged",
            "subjects_unset",
        )
    active = (Subject.site_id == site.id, Subject.status == SubjectStatus.ACTIVE)
    moved_out = session.scalars(
        select(Subject.moved_out_at).where(
            *active, Subject.kind == SubjectKind.RESIDENT, Subject.moved_out_at.is_not(None)
        )
    )
    residents_overdue = sum(
        1 for moved in moved_out if moved is not None and moved + timedelta(days=days) <= now
    )
    expired = count(
        session,
        Subject,
        *active,
        Subject.kind.in_(sorted(EXPIRING_KINDS)),
        Subject.expires_at <= now,
    )
    if residents_overdue or expired:
        return _check(
            "subject_retention",
            rules,
            LiveStatus.ATTENTION,
            f"{residents_overdue} moved-out resident(s) and {expired} visitor(s) or temporary "
            "resident(s) are past their retention: run the retention job",
            "subjects_overdue",
            residents=residents_overdue,
            expiring=expired,
        )
    return _check(
        "subject_retention",
        rules,
        LiveStatus.OK,
        f"residents are purged {days} days after move-out; visitors and temporary residents "
        "expire by themselves; none is overdue",
        "subjects_ok",
        days=days,
    )


def _consent_renewal(session: Session, site: Site, now: datetime) -> LiveCheck:
    waiting = session.scalar(
        select(func.count(func.distinct(Consent.subject_id)))
        .join(Subject, Subject.id == Consent.subject_id)
        .where(
            Subject.site_id == site.id,
            Subject.status == SubjectStatus.ACTIVE,
            Consent.withdrawn_at.is_(None),
            Consent.renewal_required_at.is_not(None),
        )
    )
    if waiting:
        return _check(
            "consent_renewal",
            (RuleId.R06,),
            LiveStatus.ATTENTION,
            f"{waiting} person(s) must consent to the widened notice before their face is "
            "processed again (their face processing is stopped)",
            "renewal_waiting",
            waiting=waiting,
        )
    return _check(
        "consent_renewal",
        (RuleId.R06,),
        LiveStatus.OK,
        "no consent is waiting for renewal",
        "renewal_none",
    )


def _filing(session: Session, site: Site, now: datetime) -> LiveCheck:
    enrolled = enrolled_people(session, site.operator)
    alert = session.get(FilingAlert, site.operator)
    if alert is not None:
        return _check(
            "filing_threshold",
            (RuleId.R31,),
            LiveStatus.ATTENTION,
            f"filing alert raised {alert.raised_at:%Y-%m-%d} at {alert.enrolled_people:,} "
            f"people: filing with the provincial CAC is due by {alert.due_by:%Y-%m-%d}",
            "filing_alert",
            raised=_day(alert.raised_at),
            people=alert.enrolled_people,
            due=f"{alert.due_by:%Y-%m-%d}",
        )
    if enrolled >= FILING_THRESHOLD:
        return _check(
            "filing_threshold",
            (RuleId.R31,),
            LiveStatus.ATTENTION,
            f"the operator has {enrolled:,} enrolled people (threshold {FILING_THRESHOLD:,}) "
            "but no filing alert was raised",
            "filing_missed",
            enrolled=enrolled,
            threshold=FILING_THRESHOLD,
        )
    return _check(
        "filing_threshold",
        (RuleId.R31,),
        LiveStatus.OK,
        f"the operator has {enrolled:,} enrolled people, below the filing threshold of "
        f"{FILING_THRESHOLD:,}",
        "filing_ok",
        enrolled=enrolled,
        threshold=FILING_THRESHOLD,
    )


def _incidents(session: Session, site: Site, now: datetime) -> LiveCheck:
    open_incidents = list(
        session.scalars(
            select(Incident.kind).where(
                or_(Incident.site_id == site.id, Incident.site_id.is_(None)),
                Incident.resolved_at.is_(None),
            )
        )
    )
    if open_incidents:
        kinds = ", ".join(sorted({kind.value for kind in open_incidents}))
        return _check(
            "open_incidents",
            (RuleId.R28,),
            LiveStatus.ATTENTION,
            f"{len(open_incidents)} unresolved incident(s): {kinds}",
            "incidents_open",
            open=len(open_incidents),
            kinds=kinds,
        )
    return _check(
        "open_incidents", (RuleId.R28,), LiveStatus.OK, "no unresolved incident", "incidents_none"
    )


def _retention_run(session: Session, site: Site, now: datetime) -> LiveCheck:
    """R-24 needs the retention job to actually run: when did it last, here or everywhere."""
    last = session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.action == AuditAction.RETENTION_RUN.value,
            or_(AuditEvent.site_id == site.id, AuditEvent.site_id.is_(None)),
        )
    )
    if last is None:
        return _check(
            "retention_run",
            (RuleId.R24,),
            LiveStatus.NOT_CONFIGURED,
            "the retention job has never run at this site: schedule it (e.g. daily)",
            "retention_never",
        )
    return _check(
        "retention_run",
        (RuleId.R24,),
        LiveStatus.OK,
        f"the retention job last ran {last:%Y-%m-%d %H:%M} UTC",
        "retention_last",
        at=f"{last:%Y-%m-%d %H:%M} UTC",
    )


def check_key_separation(settings: Settings) -> LiveCheck:
    """R-20, R-23: the key store and the site key are files apart from the database, so a
    database backup holds nothing that decrypts a template once its key is destroyed."""
    rules = (RuleId.R20, RuleId.R23)
    database = sqlite_path(settings.resolved_database_url)
    keystore = settings.resolved_keystore_path
    site_key = "FACEGATE_SITE_KEY" if settings.site_key is not None else None
    key_file = None if site_key else settings.resolved_key_file
    if database is not None:
        if _same_file(keystore, database):
            return _check(
                "key_separation",
                rules,
                LiveStatus.ATTENTION,
                f"the key store is the database file ({database.name}): a database backup "
                "would hold the keys, and deletion would not reach it",
                "keys_in_database",
                database=database.name,
            )
        if key_file is not None and _same_file(key_file, database):
            return _check(
                "key_separation",
                rules,
                LiveStatus.ATTENTION,
                f"the site key file is the database file ({database.name})",
                "key_file_in_database",
                database=database.name,
            )
    # File names only: the report is shown in a browser and handed to auditors, and
    # where the keys lie on the server is not theirs to know.
    key = site_key or (key_file.name if key_file else "?")
    where_key = site_key or f"the key file {key}"
    where_db = f"the database file {database.name}" if database is not None else "the server"
    return _check(
        "key_separation",
        rules,
        LiveStatus.OK,
        f"data keys in the key store file {keystore.name}, apart from {where_db}; site key "
        f"from {where_key}",
        "keys_apart" if database is not None else "keys_apart_server",
        keystore=keystore.name,
        database="" if database is None else database.name,
        site_key=key,
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


_SESSION_CHECKS: tuple[Callable[[Session, Site, datetime], LiveCheck], ...] = (
    _notice,
    _assessment,
    _gates,
    _raw_frames,
    _bystanders,
    _snapshot_retention,
    _subject_retention,
    _consent_renewal,
    _filing,
    _incidents,
    _retention_run,
)
