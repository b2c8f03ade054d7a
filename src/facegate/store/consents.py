"""The consent ledger and guardians (R-02 … R-07).

Consent to face processing is its own act, recorded here and nowhere else: creating a
subject, issuing a card or PIN or publishing a notice never creates one (R-02). Each
consent records the notice version, when, how (signature image or e-signature reference),
who gave it and who collected it (R-03), and when it ends (R-07). For a child under 14 it
must come from their recorded guardian (R-04). Withdrawal is one call, stops face
processing at once and erases the face data it covered (R-05).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.errors import GuardianRequiredError, InvalidRecordError, NotFoundError, PolicyError
from facegate.store.accounts import Role, end_sessions
from facegate.store.audit import AuditAction
from facegate.store.checks import (
    ADULT_AGE,
    age_on,
    check_aware,
    check_birth_date,
    check_id,
    check_text,
)
from facegate.store.erasure import erase_face_data
from facegate.store.erasure import finish as finish_erasure
from facegate.store.module import StoreModule
from facegate.store.notices import NoticeContent
from facegate.store.queries import active_subject, bump_gallery, is_minor, may_enter
from facegate.store.records import (
    EXPIRING_KINDS,
    ConsentMethod,
    DeletionReason,
    DeletionReceipt,
    GuardianRelation,
    SubjectStatus,
)
from facegate.store.schema import (
    ACTOR_LENGTH,
    EVIDENCE_LENGTH,
    NAME_LENGTH,
    NOTICE_VERSION_LENGTH,
    Consent,
    Guardian,
    Notice,
    Subject,
    new_id,
    utcnow,
)

#: A consent dated further ahead than this is a typo, not a signature.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One consent as the ledger holds it. Holds no face data."""

    id: str
    subject_id: str
    notice_version: str
    given_at: datetime
    expires_at: datetime | None
    method: ConsentMethod
    evidence_ref: str | None
    #: Who gave it: the subject, or the guardian for a child.
    given_by: str
    guardian_id: str | None
    #: The operator who collected it.
    collected_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    renewal_required_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return (
            self.withdrawn_at is None
            and self.renewal_required_at is None
            and self.expires_at is not None
            and self.expires_at > now
        )


@dataclass(frozen=True, slots=True)
class GuardianInfo:
    id: str
    subject_id: str
    display_name: str | None
    relation: GuardianRelation
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """What a withdrawal did: the consents it closed and the receipt of the erased data."""

    consent_ids: tuple[str, ...]
    receipt: DeletionReceipt | None


class Consents(StoreModule):
    """Recording, listing and withdrawing consents; guardians of children."""

    def add_guardian(
        self,
        subject_id: str,
        display_name: str,
        relation: GuardianRelation | str,
        date_of_birth: date,
        *,
        actor: str,
    ) -> GuardianInfo:
        """Record the guardian of a child under 14 (R-04). The guardian must be an adult;
        their birth date is checked, not stored."""
        check_id(subject_id, "subject id")
        display_name = check_text(display_name, "guardian name", NAME_LENGTH)
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        try:
            kind = GuardianRelation(relation)
        except ValueError:
            allowed = ", ".join(r.value for r in GuardianRelation)
            raise InvalidRecordError(
                f"relation {relation!r} is not one of: {allowed}", reason="unknown_relation"
            ) from None
        today = utcnow().date()
        born = check_birth_date(date_of_birth, today)
        if age_on(born, today) < ADULT_AGE:
            raise InvalidRecordError(
                f"a guardian must be an adult ({ADULT_AGE} or older); this one is a minor",
                reason="guardian_minor",
            )
        with self._store.transaction() as session:
            subject = active_subject(session, subject_id)
            if not is_minor(subject):
                raise PolicyError(
                    "only a subject under 14 has a guardian who consents for them; "
                    "this subject consents for themselves",
                    reason="not_a_minor",
                )
            guardian = Guardian(
                id=new_id(),
                subject_id=subject.id,
                display_name=display_name,
                relation=kind,
                created_at=utcnow(),
            )
            session.add(guardian)
            self._store.audit(
                session,
                actor,
                AuditAction.GUARDIAN_ADDED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={"guardian_id": guardian.id, "relation": kind.value},
            )
            return _guardian_info(guardian)

    def guardians(self, subject_id: str) -> list[GuardianInfo]:
        check_id(subject_id, "subject id")
        with self._store.reading() as session:
            rows = session.scalars(
                select(Guardian)
                .where(Guardian.subject_id == subject_id, Guardian.removed_at.is_(None))
                .order_by(Guardian.created_at)
            )
            return [_guardian_info(row) for row in rows]

    def record(
        self,
        subject_id: str,
        notice_version: str,
        method: ConsentMethod | str,
        evidence_ref: str,
        *,
        given_by: str | None = None,
        guardian_id: str | None = None,
        given_at: datetime | None = None,
        expires_at: datetime | None = None,
        actor: str,
    ) -> ConsentRecord:
        """Record a written consent to face processing (R-02, R-03); ``actor`` collected it.

        It must be given for the site's current notice. ``evidence_ref`` names the signature
        image or e-signature transaction. The consent ends at ``expires_at`` (default: the
        notice's retention period; a visitor's consent ends with their visit at the latest).
        For a child under 14 it must be given by their recorded guardian (``guardian_id``).
        """
        check_id(subject_id, "subject id")
        notice_version = check_text(notice_version, "notice version", NOTICE_VERSION_LENGTH)
        try:
            consent_method = ConsentMethod(method)
        except ValueError:
            allowed = ", ".join(m.value for m in ConsentMethod)
            raise InvalidRecordError(
                f"method {method!r} is not one of: {allowed}", reason="unknown_consent_method"
            ) from None
        evidence_ref = check_text(evidence_ref, "evidence reference", EVIDENCE_LENGTH)
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        if guardian_id is not None:
            check_id(guardian_id, "guardian id")
        now = utcnow()
        given_at = now if given_at is None else check_aware(given_at, "given_at")
        if given_at > now + CLOCK_SKEW:
            raise InvalidRecordError(
                f"given_at {given_at.isoformat()} is in the future", reason="given_in_future"
            )
        with self._store.transaction() as session:
            subject = active_subject(session, subject_id)
            if not may_enter(subject, now):
                raise PolicyError(
                    f"subject {subject.id} has moved out or their stay has ended: no new consent",
                    reason="moved_out",
                )
            notice = session.scalar(
                select(Notice).where(
                    Notice.site_id == subject.site_id, Notice.version == notice_version
                )
            )
            if notice is None:
                raise NotFoundError(
                    f"notice version {notice_version!r} was never published at this site"
                )
            newest = session.scalar(
                select(Notice.version)
                .where(Notice.site_id == subject.site_id)
                .order_by(Notice.seq.desc())
                .limit(1)
            )
            if newest != notice.version:
                raise PolicyError(
                    f"notice {notice_version!r} has been superseded by {newest!r}: consent is "
                    "given for the notice in force",
                    reason="notice_superseded",
                )
            signer = self._signer(session, subject, guardian_id, given_by)
            retention = NoticeContent.from_json(notice.content).retention_days
            ends = _end(subject, given_at, expires_at, timedelta(days=retention))
            consent = Consent(
                id=new_id(),
                subject_id=subject.id,
                notice_id=notice.id,
                notice_version=notice.version,
                given_at=given_at,
                expires_at=ends,
                method=consent_method,
                evidence_ref=evidence_ref,
                given_by=signer,
                guardian_id=guardian_id,
                collected_by=actor,
            )
            session.add(consent)
            bump_gallery(session, subject.site_id, subject.id)
            self._store.audit(
                session,
                actor,
                AuditAction.CONSENT_RECORDED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={
                    "consent_id": consent.id,
                    "notice_version": notice.version,
                    "method": consent_method.value,
                    "by_guardian": guardian_id is not None,
                    "expires_at": ends.isoformat(),
                },
            )
            return _record(consent)

    def withdraw(
        self,
        consent_id: str,
        *,
        actor: str,
        guardian_id: str | None = None,
        keep_session: str | None = None,
    ) -> Withdrawal:
        """Withdraw one consent (R-05): face processing under it stops in this transaction
        and the templates enrolled under it are erased, with a receipt.

        Withdrawing an already withdrawn consent changes nothing. For a child, pass the
        ``guardian_id`` of the guardian who asks. The person's self-service sessions end in
        the same transaction, except ``keep_session`` (the token digest of the resident's
        own session that asked: they stay signed in to get a PIN instead, R-08).
        """
        check_id(consent_id, "consent id")
        with self._store.reading() as session:
            consent = session.get(Consent, consent_id)
            if consent is None:
                raise NotFoundError(f"no consent with id {consent_id}")
            subject_id = consent.subject_id
        return self._withdraw(
            subject_id, [consent_id], actor=actor, guardian_id=guardian_id, keep=keep_session
        )

    def withdraw_all(
        self,
        subject_id: str,
        *,
        actor: str,
        guardian_id: str | None = None,
        keep_session: str | None = None,
    ) -> Withdrawal:
        """One action that withdraws every open consent of a subject (R-05); sessions as
        in ``withdraw``."""
        check_id(subject_id, "subject id")
        return self._withdraw(
            subject_id, None, actor=actor, guardian_id=guardian_id, keep=keep_session
        )

    def list(self, subject_id: str) -> list[ConsentRecord]:
        """The subject's consents, oldest first (withdrawn ones included)."""
        check_id(subject_id, "subject id")
        with self._store.reading() as session:
            if session.get(Subject, subject_id) is None:
                raise NotFoundError(f"no subject with id {subject_id}")
            consents = session.scalars(
                select(Consent)
                .where(Consent.subject_id == subject_id)
                .order_by(Consent.given_at, Consent.id)
            )
            return [_record(consent) for consent in consents]

    def _withdraw(
        self,
        subject_id: str,
        consent_ids: Sequence[str] | None,
        *,
        actor: str,
        guardian_id: str | None,
        keep: str | None,
    ) -> Withdrawal:
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        with self._store.transaction() as session:
            subject = session.get(Subject, subject_id)
            if subject is None:
                raise NotFoundError(f"no subject with id {subject_id}")
            if guardian_id is not None:
                _guardian_of(session, subject, guardian_id)
            stmt = select(Consent).where(
                Consent.subject_id == subject.id, Consent.withdrawn_at.is_(None)
            )
            if consent_ids is not None:
                stmt = stmt.where(Consent.id.in_(consent_ids))
            open_consents = list(session.scalars(stmt))
            if not open_consents or subject.status is SubjectStatus.DELETED:
                return Withdrawal((), None)
            now = utcnow()
            for consent in open_consents:
                consent.withdrawn_at = now
                consent.withdrawn_by = actor
            closed = tuple(consent.id for consent in open_consents)
            end_sessions(session, role=Role.RESIDENT, principal_id=subject.id, keep=keep)
            # erase_face_data writes the consent.withdrawn audit event and the receipt.
            pending = erase_face_data(
                session,
                self._store,
                subject,
                closed,
                DeletionReason.WITHDRAWAL,
                actor,
                now,
                action=AuditAction.CONSENT_WITHDRAWN,
            )
        finish_erasure(self._store, pending)
        return Withdrawal(closed, pending.receipt)

    def _signer(
        self, session: Session, subject: Subject, guardian_id: str | None, given_by: str | None
    ) -> str:
        if is_minor(subject):
            if guardian_id is None:
                raise GuardianRequiredError(
                    "this subject is under 14: their recorded guardian gives the consent "
                    "(add the guardian, then pass guardian_id)",
                    reason="guardian_not_named",
                )
            guardian = _guardian_of(session, subject, guardian_id)
            return guardian.display_name or ""
        if guardian_id is not None:
            raise PolicyError(
                "this subject is 14 or older and consents for themselves", reason="not_a_minor"
            )
        if given_by is not None:
            return check_text(given_by, "given_by", NAME_LENGTH)
        return subject.display_name or ""


def _guardian_of(session: Session, subject: Subject, guardian_id: str) -> Guardian:
    guardian = session.get(Guardian, guardian_id)
    if guardian is None or guardian.subject_id != subject.id or guardian.removed_at is not None:
        raise NotFoundError(f"guardian {guardian_id} is not a recorded guardian of this subject")
    return guardian


def _end(
    subject: Subject, given_at: datetime, expires_at: datetime | None, retention: timedelta
) -> datetime:
    latest = given_at + retention
    if subject.kind in EXPIRING_KINDS and subject.expires_at is not None:
        latest = min(latest, subject.expires_at)
    if expires_at is None:
        return latest
    ends = check_aware(expires_at, "expires_at")
    if ends <= given_at:
        raise InvalidRecordError(
            "a consent must end after it is given", reason="consent_ends_before_given"
        )
    if ends > latest:
        raise InvalidRecordError(
            f"a consent cannot outlast the notice's retention or the visit ({latest.isoformat()})",
            reason="consent_too_long",
        )
    return ends


def _record(consent: Consent) -> ConsentRecord:
    return ConsentRecord(
        id=consent.id,
        subject_id=consent.subject_id,
        notice_version=consent.notice_version,
        given_at=consent.given_at,
        expires_at=consent.expires_at,
        method=consent.method,
        evidence_ref=consent.evidence_ref,
        given_by=consent.given_by,
        guardian_id=consent.guardian_id,
        collected_by=consent.collected_by,
        withdrawn_at=consent.withdrawn_at,
        withdrawn_by=consent.withdrawn_by,
        renewal_required_at=consent.renewal_required_at,
    )


def _guardian_info(guardian: Guardian) -> GuardianInfo:
    return GuardianInfo(
        id=guardian.id,
        subject_id=guardian.subject_id,
        display_name=guardian.display_name,
        relation=guardian.relation,
        created_at=guardian.created_at,
    )
