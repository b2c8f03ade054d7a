"""Scheduled purges: move-out, expiry, kept frames (R-24).

Face entry stops at once when a resident moves out or a visitor's time ends (the gallery
leaves them out from that moment, ``subject_current``); their data is purged later by
``Retention.run``: residents ``resident_retention_days`` after move-out, visitors and
temporary residents at ``expires_at``, templates whose consent has ended, kept frames at
their ``expires_at``. Each erasure is its own transaction with its own receipt, so a crash
mid-run loses nothing and running again finishes the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from facegate.errors import InvalidRecordError, PolicyError
from facegate.store.accounts import Role, end_sessions, spend_signin_codes
from facegate.store.audit import AuditAction, DetailValue
from facegate.store.checks import check_aware, check_id, check_text
from facegate.store.erasure import erase_face_data, erase_subject
from facegate.store.erasure import finish as finish_erasure
from facegate.store.keystore import Revoked
from facegate.store.keystore_schema import RevokedKind
from facegate.store.module import StoreModule
from facegate.store.notices import NoticeContent
from facegate.store.queries import active_subject, bump_gallery, site_by_code
from facegate.store.records import (
    EXPIRING_KINDS,
    DeletionReason,
    DeletionReceipt,
    ProcessingMethod,
    RetentionReport,
    SitePolicy,
    SubjectKind,
    SubjectStatus,
)
from facegate.store.schema import (
    ACTOR_LENGTH,
    Consent,
    Notice,
    Site,
    Snapshot,
    Subject,
    Template,
    utcnow,
)

logger = logging.getLogger(__name__)

#: A resident's data may be purged at move-out (0) and is kept at most half a year after.
MIN_RESIDENT_RETENTION_DAYS = 0
MAX_RESIDENT_RETENTION_DAYS = 180
#: A kept frame lives at least a day (time to raise a dispute) and at most 90 days.
MIN_SNAPSHOT_RETENTION_DAYS = 1
MAX_SNAPSHOT_RETENTION_DAYS = 90
#: Actor recorded for scheduled runs.
RETENTION_ACTOR = "retention"

#: ``on_progress(done, total)`` after each erasure of a run.
ProgressCallback = Callable[[int, int], None]


def subject_current(now: datetime) -> ColumnElement[bool]:
    """A subject whose face entry is still open at ``now``: not moved out, not expired."""
    return and_(
        or_(Subject.moved_out_at.is_(None), Subject.moved_out_at > now),
        or_(Subject.expires_at.is_(None), Subject.expires_at > now),
    )


def declares_kept_frames(session: Session, site_id: str) -> bool:
    """Whether the site's current notice tells people that disputed frames are kept (R-01)."""
    notice = session.scalar(
        select(Notice).where(Notice.site_id == site_id).order_by(Notice.seq.desc()).limit(1)
    )
    if notice is None:
        return False
    return ProcessingMethod.KEEP_DISPUTED_FRAMES in NoticeContent.from_json(notice.content).methods


class Retention(StoreModule):
    """Scheduled purges: move-out, expiry, kept frames (R-24)."""

    def policy(self, site_code: str) -> SitePolicy:
        with self._store.reading() as session:
            return _policy(site_by_code(session, site_code))

    def set_policy(
        self,
        site_code: str,
        *,
        resident_retention_days: int | None = None,
        snapshot_retention_days: int | None = None,
        keep_disputed_frames: bool | None = None,
        actor: str,
    ) -> SitePolicy:
        """Change a site's retention periods or turn kept frames on or off; None keeps a
        setting as it is. Audited as ``site.policy_changed``.

        Keeping disputed frames can be turned on only while the site's current notice
        declares it (``keep_disputed_frames`` method): people are told before it happens.
        """
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        changes: dict[str, DetailValue] = {}
        if resident_retention_days is not None:
            changes["resident_retention_days"] = _days(
                resident_retention_days,
                "resident_retention_days",
                MIN_RESIDENT_RETENTION_DAYS,
                MAX_RESIDENT_RETENTION_DAYS,
            )
        if snapshot_retention_days is not None:
            changes["snapshot_retention_days"] = _days(
                snapshot_retention_days,
                "snapshot_retention_days",
                MIN_SNAPSHOT_RETENTION_DAYS,
                MAX_SNAPSHOT_RETENTION_DAYS,
            )
        if keep_disputed_frames is not None:
            if not isinstance(keep_disputed_frames, bool):
                raise InvalidRecordError(
                    "keep_disputed_frames must be true or false", reason="not_boolean"
                )
            changes["keep_disputed_frames"] = keep_disputed_frames
        if not changes:
            raise InvalidRecordError("no policy setting to change was given", reason="no_change")
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            if keep_disputed_frames and not declares_kept_frames(session, site.id):
                raise PolicyError(
                    "the site's current notice does not say that frames of disputed entries "
                    "are kept: publish a notice that declares keep_disputed_frames first",
                    reason="frames_not_declared",
                )
            if resident_retention_days is not None:
                site.resident_retention_days = resident_retention_days
            if snapshot_retention_days is not None:
                site.snapshot_retention_days = snapshot_retention_days
            if keep_disputed_frames is not None:
                site.keep_disputed_frames = keep_disputed_frames
            self._store.audit(
                session, actor, AuditAction.SITE_POLICY_CHANGED, site_id=site.id, detail=changes
            )
            return _policy(site)

    def record_move_out(
        self, subject_id: str, when: datetime | None = None, *, actor: str
    ) -> datetime:
        """Record that a resident moves out at ``when`` (default now); returns that time.

        Face entry stops at that moment; the data is purged ``resident_retention_days``
        later by ``run``. A move-out that has begun ends their self-service sessions and
        sign-in codes now; a later one is refused by ``Accounts.session`` from its time.
        The key store's revocation log notes it before the commit, so a restored backup
        cannot move them back in. Recording it again changes nothing and returns the first
        date.
        ``InvalidRecordError`` for a visitor or temporary resident (they expire by
        themselves), ``NotFoundError`` for an unknown or deleted subject.
        """
        check_id(subject_id, "subject id")
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        moved_out_at = utcnow() if when is None else check_aware(when, "when")
        with self._store.transaction() as session:
            subject = active_subject(session, subject_id)
            if subject.kind is not SubjectKind.RESIDENT:
                raise InvalidRecordError(
                    f"only residents move out; a {subject.kind.value} expires by itself at "
                    "its expires_at",
                    reason="not_a_resident",
                )
            if subject.moved_out_at is not None:
                return subject.moved_out_at
            subject.moved_out_at = moved_out_at
            bump_gallery(session, subject.site_id, subject.id)
            ended = 0
            if moved_out_at <= utcnow():
                ended = end_sessions(session, role=Role.RESIDENT, principal_id=subject.id)
                spend_signin_codes(session, subject_id=subject.id)
            self._store.audit(
                session,
                actor,
                AuditAction.SUBJECT_MOVED_OUT,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={
                    "moved_out_at": moved_out_at.isoformat(timespec="seconds"),
                    "sessions_ended": ended,
                },
            )
            self._store.keystore.log_revocations(
                [
                    Revoked(
                        subject.id, RevokedKind.MOVE_OUT, subject.site_id, "moved_out", moved_out_at
                    )
                ]
            )
            return moved_out_at

    def run(
        self,
        now: datetime | None = None,
        *,
        actor: str = RETENTION_ACTOR,
        on_progress: ProgressCallback | None = None,
        site_code: str | None = None,
    ) -> RetentionReport:
        """Erase everything whose retention has ended at ``now`` (default: the current time),
        at every site or only at ``site_code`` (what one site's administrator may run).

        Idempotent: what is already erased is skipped, so a run that died part way is simply
        run again. Writes one ``retention.run`` audit event with the counts at the end.
        """
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        now = utcnow() if now is None else check_aware(now, "now")
        with self._store.reading() as session:
            site_id = None if site_code is None else site_by_code(session, site_code).id

            def at_site(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
                return true() if site_id is None else column == site_id

            residents = _residents_due(session, now, at_site(Subject.site_id))
            visitors = list(
                session.scalars(
                    select(Subject.id).where(
                        Subject.status == SubjectStatus.ACTIVE,
                        Subject.kind.in_(EXPIRING_KINDS),
                        Subject.expires_at <= now,
                        at_site(Subject.site_id),
                    )
                )
            )
            consent_owners = list(
                session.scalars(
                    select(Consent.subject_id)
                    .join(Subject, Subject.id == Consent.subject_id)
                    .where(_ended_with_templates(now), at_site(Subject.site_id))
                )
            )
            snapshots = list(
                session.scalars(
                    select(Snapshot.id).where(Snapshot.expires_at <= now, at_site(Snapshot.site_id))
                )
            )
        subjects_due = set(residents) | set(visitors)
        # A subject erased whole takes their templates with them.
        consent_subjects = sorted(set(consent_owners) - subjects_due)
        total = len(residents) + len(visitors) + len(consent_subjects) + len(snapshots)
        receipts: list[DeletionReceipt] = []
        counts = dict.fromkeys(("residents", "visitors", "consents", "snapshots"), 0)
        done = 0

        def step(kind: str, receipt: DeletionReceipt | None, erased: bool) -> None:
            nonlocal done
            done += 1
            if receipt is not None:
                receipts.append(receipt)
            if erased:
                counts[kind] += 1
            if on_progress is not None:
                on_progress(done, total)

        for subject_id in residents:
            receipt = self._erase_subject(subject_id, now, actor)
            step("residents", receipt, receipt is not None)
        for subject_id in visitors:
            receipt = self._erase_subject(subject_id, now, actor)
            step("visitors", receipt, receipt is not None)
        for subject_id in consent_subjects:
            receipt = self._erase_ended_consents(subject_id, now, actor)
            step("consents", receipt, receipt is not None)
        for snapshot_id in snapshots:
            erased, receipt = self._store.snapshots.expire(snapshot_id, now, actor=actor)
            step("snapshots", receipt, erased)
        if total:
            self._store.checkpoint()
        with self._store.transaction() as session:
            self._store.audit(
                session,
                actor,
                AuditAction.RETENTION_RUN,
                site_id=site_id,
                detail={**counts, "receipts": len(receipts)},
            )
        report = RetentionReport(
            ran_at=now,
            residents_purged=counts["residents"],
            visitors_expired=counts["visitors"],
            consents_expired=counts["consents"],
            snapshots_expired=counts["snapshots"],
            receipts=tuple(receipts),
        )
        logger.info("retention run erased %d item(s)", report.total)
        self._store.audit_receipts.write()
        return report

    def _erase_subject(self, subject_id: str, now: datetime, actor: str) -> DeletionReceipt | None:
        with self._store.transaction() as session:
            subject = session.get(Subject, subject_id)
            if subject is None or subject.status is SubjectStatus.DELETED:
                return None
            reason = _subject_due(session, subject, now)
            if reason is None:
                return None
            pending = erase_subject(session, self._store, subject, reason, actor, utcnow())
        finish_erasure(self._store, pending, checkpoint=False)
        return pending.receipt

    def _erase_ended_consents(
        self, subject_id: str, now: datetime, actor: str
    ) -> DeletionReceipt | None:
        with self._store.transaction() as session:
            subject = session.get(Subject, subject_id)
            if subject is None or subject.status is SubjectStatus.DELETED:
                return None
            consent_ids = list(
                session.scalars(
                    select(Consent.id).where(
                        Consent.subject_id == subject.id, _ended_with_templates(now)
                    )
                )
            )
            if not consent_ids:
                return None
            pending = erase_face_data(
                session,
                self._store,
                subject,
                consent_ids,
                DeletionReason.EXPIRY,
                actor,
                utcnow(),
                action=AuditAction.TEMPLATES_ERASED,
            )
        finish_erasure(self._store, pending, checkpoint=False)
        return pending.receipt


def _policy(site: Site) -> SitePolicy:
    return SitePolicy(
        site_code=site.code,
        resident_retention_days=site.resident_retention_days,
        snapshot_retention_days=site.snapshot_retention_days,
        keep_disputed_frames=site.keep_disputed_frames,
    )


def _days(value: int, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRecordError(
            f"{field} must be a whole number of days from {low} to {high}",
            reason="retention_days_range",
        )
    return value


def _ended_with_templates(now: datetime) -> ColumnElement[bool]:
    """A consent that has ended and still has templates under it.

    A consent without an end (only rows migrated from revision 0001) is never usable, so
    its templates can never be used again: it counts as ended (R-07).
    """
    return and_(
        or_(Consent.expires_at <= now, Consent.expires_at.is_(None)),
        select(Template.id).where(Template.consent_id == Consent.id).exists(),
    )


def _residents_due(session: Session, now: datetime, where: ColumnElement[bool]) -> list[str]:
    rows = session.execute(
        select(Subject.id, Subject.moved_out_at, Site.resident_retention_days)
        .join(Site, Site.id == Subject.site_id)
        .where(
            Subject.status == SubjectStatus.ACTIVE,
            Subject.kind == SubjectKind.RESIDENT,
            Subject.moved_out_at <= now,
            where,
        )
        .order_by(Subject.moved_out_at, Subject.id)
    )
    return [
        subject_id
        for subject_id, moved_out_at, days in rows
        if moved_out_at is not None and moved_out_at + timedelta(days=days) <= now
    ]


def _subject_due(session: Session, subject: Subject, now: datetime) -> DeletionReason | None:
    """Why the subject's whole record is due for erasure at ``now``, if it is."""
    if subject.kind in EXPIRING_KINDS:
        if subject.expires_at is not None and subject.expires_at <= now:
            return DeletionReason.EXPIRY
        return None
    if subject.moved_out_at is None:
        return None
    days = session.get_one(Site, subject.site_id).resident_retention_days
    if subject.moved_out_at + timedelta(days=days) <= now:
        return DeletionReason.MOVE_OUT
    return None
