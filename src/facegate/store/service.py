"""The store's public API: every write is one transaction that includes its audit event.

Nothing here returns ORM objects or key material; face templates leave the store only as
decrypted arrays from ``load_gallery`` / ``load_subject_templates``, and each such read is
audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Engine, delete, func, select, update
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from facegate.core.config import Settings
from facegate.errors import (
    AlreadyExistsError,
    ConfigError,
    ConsentRequiredError,
    FileSystemError,
    IntegrityViolationError,
    InvalidRecordError,
    NotFoundError,
    StoreError,
)
from facegate.store.audit import (
    DECISION_ACTIONS,
    AuditAction,
    AuditRecord,
    AuditReport,
    DetailValue,
    append_event,
    check_key_matches,
    events_for_subject,
    verify_audit_chain,
)
from facegate.store.checks import (
    check_aware,
    check_id,
    check_site_code,
    check_templates,
    check_text,
)
from facegate.store.crypto import (
    SiteKey,
    decrypt_template,
    encrypt_template,
    load_site_key,
    new_data_key,
)
from facegate.store.engine import (
    READ_ONLY,
    checkpoint_wal,
    make_engine,
    prepare_sqlite_file,
    sqlite_path,
)
from facegate.store.migrate import upgrade_to_head
from facegate.store.records import (
    EMBEDDING_DIM,
    ConsentInfo,
    ConsentMethod,
    DeletionReceipt,
    Gallery,
    SiteInfo,
    SubjectInfo,
    SubjectKind,
    SubjectStatus,
)
from facegate.store.schema import (
    ACTOR_LENGTH,
    MODEL_NAME_LENGTH,
    NAME_LENGTH,
    NOTICE_VERSION_LENGTH,
    SITE_CODE_LENGTH,
    Consent,
    Site,
    Subject,
    SubjectKey,
    Template,
    new_id,
    utcnow,
)

logger = logging.getLogger(__name__)
_E = TypeVar("_E", SubjectKind, ConsentMethod, AuditAction)

#: Actor recorded when a caller names none (e.g. setup scripts).
SYSTEM_ACTOR = "system"
PURPOSE_LENGTH = 64
REASON_LENGTH = 200
OUTCOME_LENGTH = 32
#: A consent dated further ahead than this is a typo, not a signature.
_CLOCK_SKEW = timedelta(minutes=5)


class Store:
    """facegate's storage. Open with ``Store.open(settings)``; use as a context manager.

    >>> with Store.open(settings) as store:  # doctest: +SKIP
    ...     site = store.create_site("sunny-garden", "Sunny Garden")
    """

    def __init__(self, engine: Engine, site_key: SiteKey) -> None:
        self._engine = engine
        self._site_key = site_key
        self._writer = sessionmaker(engine, expire_on_commit=False)
        self._reader = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self._closed = False

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """Create the data dir (0700) if needed, load the site key, migrate to head."""
        _prepare_data_dir(settings.data_dir)
        url = settings.resolved_database_url
        try:
            path = sqlite_path(url)
        except ArgumentError as exc:
            raise ConfigError(f"FACEGATE_DATABASE_URL is not a database URL: {exc}") from exc
        if path is None:
            raise ConfigError(
                "only SQLite database files are supported so far "
                f"(PostgreSQL arrives with its own issue), not {url.split(':', 1)[0]!r}"
            )
        # The key first: without it an empty database must not be created.
        site_key = load_site_key(
            settings, database_exists=path.exists() and path.stat().st_size > 0
        )
        prepare_sqlite_file(url)
        engine = make_engine(url)
        try:
            with _database_errors():
                upgrade_to_head(engine)
                with Session(engine) as session:
                    check_key_matches(session, site_key)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, site_key)

    def close(self) -> None:
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Sites

    def create_site(self, code: str, name: str, *, actor: str = SYSTEM_ACTOR) -> SiteInfo:
        """A new site; ``AlreadyExistsError`` if the code is taken."""
        code = check_site_code(code, SITE_CODE_LENGTH)
        name = check_text(name, "site name", NAME_LENGTH)
        with self._write() as session:
            if session.scalar(select(Site.id).where(Site.code == code)) is not None:
                raise AlreadyExistsError(f"a site with code {code!r} already exists")
            site = Site(id=new_id(), code=code, name=name, created_at=utcnow())
            session.add(site)
            self._audit(
                session, actor, AuditAction.SITE_CREATED, site_id=site.id, detail={"code": code}
            )
            return _site_info(site)

    def get_site(self, code: str) -> SiteInfo:
        with self._read() as session:
            return _site_info(_site_by_code(session, code))

    def list_sites(self) -> list[SiteInfo]:
        with self._read() as session:
            return [_site_info(site) for site in session.scalars(select(Site).order_by(Site.code))]

    # Subjects

    def add_subject(
        self,
        site_code: str,
        display_name: str,
        kind: SubjectKind | str,
        *,
        actor: str = SYSTEM_ACTOR,
    ) -> SubjectInfo:
        """A new active subject, without consent or templates yet."""
        display_name = check_text(display_name, "display name", NAME_LENGTH)
        subject_kind = _enum_value(SubjectKind, kind, "kind")
        with self._write() as session:
            site = _site_by_code(session, site_code)
            subject = Subject(
                id=new_id(),
                site_id=site.id,
                display_name=display_name,
                kind=subject_kind,
                status=SubjectStatus.ACTIVE,
                created_at=utcnow(),
            )
            session.add(subject)
            self._audit(
                session,
                actor,
                AuditAction.SUBJECT_ADDED,
                site_id=site.id,
                subject_id=subject.id,
                detail={"kind": subject_kind.value},
            )
            session.flush()
            return _subject_infos(session, Subject.id == subject.id)[0]

    def get_subject(self, subject_id: str) -> SubjectInfo:
        """The subject's record; a deleted subject comes back as its tombstone."""
        check_id(subject_id, "subject id")
        with self._read() as session:
            infos = _subject_infos(session, Subject.id == subject_id)
            if not infos:
                raise NotFoundError(f"no subject with id {subject_id}")
            return infos[0]

    def list_subjects(self, site_code: str, *, include_deleted: bool = False) -> list[SubjectInfo]:
        """The site's subjects, oldest first; tombstones only with ``include_deleted``."""
        with self._read() as session:
            site = _site_by_code(session, site_code)
            conditions = [Subject.site_id == site.id]
            if not include_deleted:
                conditions.append(Subject.status == SubjectStatus.ACTIVE)
            return _subject_infos(session, *conditions)

    # Consent

    def record_consent(
        self,
        subject_id: str,
        notice_version: str,
        method: ConsentMethod | str,
        given_by: str,
        given_at: datetime | None = None,
        *,
        actor: str = SYSTEM_ACTOR,
    ) -> ConsentInfo:
        """Record a written consent (R-03); ``actor`` is the operator who collected it.

        ``given_at`` must be timezone-aware and not in the future; default now.
        """
        check_id(subject_id, "subject id")
        notice_version = check_text(notice_version, "notice version", NOTICE_VERSION_LENGTH)
        consent_method = _enum_value(ConsentMethod, method, "method")
        given_by = check_text(given_by, "given_by", NAME_LENGTH)
        collected_by = check_text(actor, "actor", ACTOR_LENGTH)
        now = utcnow()
        given_at = now if given_at is None else check_aware(given_at, "given_at")
        if given_at > now + _CLOCK_SKEW:
            raise InvalidRecordError(f"given_at {given_at.isoformat()} is in the future")
        with self._write() as session:
            subject = _active_subject(session, subject_id)
            consent = Consent(
                id=new_id(),
                subject_id=subject.id,
                notice_version=notice_version,
                given_at=given_at,
                method=consent_method,
                given_by=given_by,
                collected_by=collected_by,
            )
            session.add(consent)
            self._audit(
                session,
                actor,
                AuditAction.CONSENT_RECORDED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={
                    "consent_id": consent.id,
                    "notice_version": notice_version,
                    "method": consent_method.value,
                },
            )
            return _consent_info(consent)

    def withdraw_consent(self, consent_id: str, *, actor: str = SYSTEM_ACTOR) -> ConsentInfo:
        """Withdraw a consent (R-05) and delete the templates enrolled under it, at once.

        Withdrawing an already withdrawn consent changes nothing and returns it as it is.
        """
        check_id(consent_id, "consent id")
        with self._write() as session:
            consent = session.get(Consent, consent_id)
            if consent is None:
                raise NotFoundError(f"no consent with id {consent_id}")
            if consent.withdrawn_at is not None:
                return _consent_info(consent)
            subject = session.get_one(Subject, consent.subject_id)
            consent.withdrawn_at = utcnow()
            removed = _count(session, Template, Template.consent_id == consent.id)
            session.execute(delete(Template).where(Template.consent_id == consent.id))
            self._audit(
                session,
                actor,
                AuditAction.CONSENT_WITHDRAWN,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={"consent_id": consent.id, "templates_deleted": removed},
            )
            info = _consent_info(consent)
        if removed:
            checkpoint_wal(self._engine)
        return info

    def list_consents(self, subject_id: str) -> list[ConsentInfo]:
        """The subject's consents, oldest first (withdrawn ones included)."""
        check_id(subject_id, "subject id")
        with self._read() as session:
            if session.get(Subject, subject_id) is None:
                raise NotFoundError(f"no subject with id {subject_id}")
            consents = session.scalars(
                select(Consent)
                .where(Consent.subject_id == subject_id)
                .order_by(Consent.given_at, Consent.id)
            )
            return [_consent_info(consent) for consent in consents]

    # Templates

    def enroll(
        self,
        subject_id: str,
        embeddings: Sequence[npt.NDArray[np.floating]],
        model_name: str,
        qualities: Sequence[float],
        actor: str,
    ) -> list[str]:
        """Encrypt and store templates (each a float array of shape (128,)); returns their ids.

        All or none are stored. ``ConsentRequiredError`` without an active consent;
        ``NotFoundError`` for an unknown or deleted subject.
        """
        check_id(subject_id, "subject id")
        model_name = check_text(model_name, "model name", MODEL_NAME_LENGTH)
        templates = check_templates(embeddings, qualities)
        with self._write() as session:
            subject = _active_subject(session, subject_id)
            consent_id = session.scalar(
                select(Consent.id)
                .where(Consent.subject_id == subject.id, Consent.withdrawn_at.is_(None))
                .order_by(Consent.given_at.desc(), Consent.id)
                .limit(1)
            )
            if consent_id is None:
                raise ConsentRequiredError(
                    f"subject {subject.id} has no active consent to face processing: "
                    "record a written consent before enrolling"
                )
            data_key = self._data_key(session, subject, create=True)
            template_ids = []
            for vector, quality in templates:
                template_id = new_id()
                nonce, ciphertext = encrypt_template(
                    data_key,
                    vector,
                    site_id=subject.site_id,
                    subject_id=subject.id,
                    template_id=template_id,
                    model_name=model_name,
                )
                session.add(
                    Template(
                        id=template_id,
                        subject_id=subject.id,
                        consent_id=consent_id,
                        model_name=model_name,
                        nonce=nonce,
                        ciphertext=ciphertext,
                        quality=quality,
                        created_at=utcnow(),
                    )
                )
                template_ids.append(template_id)
            self._audit(
                session,
                actor,
                AuditAction.TEMPLATE_ENROLLED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={
                    "count": len(template_ids),
                    "model_name": model_name,
                    "consent_id": consent_id,
                },
            )
            return template_ids

    def load_gallery(self, site_code: str, model_name: str, actor: str, purpose: str) -> Gallery:
        """All usable templates of a site for one model, decrypted, for 1:N matching.

        Only active subjects' templates whose consent is not withdrawn. Writes a
        ``templates.read`` audit event (count, purpose) in the same transaction.
        """
        model_name = check_text(model_name, "model name", MODEL_NAME_LENGTH)
        purpose = check_text(purpose, "purpose", PURPOSE_LENGTH)
        with self._write() as session:
            site = _site_by_code(session, site_code)
            rows = self._decrypt_usable(session, Subject.site_id == site.id, model_name)
            subject_ids: dict[str, int] = {}
            owners = [subject_ids.setdefault(owner, len(subject_ids)) for owner, _ in rows]
            self._audit(
                session,
                actor,
                AuditAction.TEMPLATES_READ,
                site_id=site.id,
                detail={
                    "count": len(rows),
                    "subjects": len(subject_ids),
                    "model_name": model_name,
                    "purpose": purpose,
                },
            )
        return Gallery(
            subject_ids=tuple(subject_ids),
            embeddings=_stack([vector for _, vector in rows]),
            owners=np.asarray(owners, dtype=np.int64),
        )

    def load_subject_templates(
        self, subject_id: str, model_name: str, actor: str, purpose: str
    ) -> npt.NDArray[np.float32]:
        """One subject's usable templates for 1:1 verification: float32, shape (k, 128).

        ``NotFoundError`` for an unknown or deleted subject, ``ConsentRequiredError`` when
        no consent is active. Writes a ``templates.read`` audit event.
        """
        check_id(subject_id, "subject id")
        model_name = check_text(model_name, "model name", MODEL_NAME_LENGTH)
        purpose = check_text(purpose, "purpose", PURPOSE_LENGTH)
        with self._write() as session:
            subject = _active_subject(session, subject_id)
            if not _has_active_consent(session, subject.id):
                raise ConsentRequiredError(
                    f"subject {subject.id} has no active consent: their templates are not used"
                )
            rows = self._decrypt_usable(session, Subject.id == subject.id, model_name)
            self._audit(
                session,
                actor,
                AuditAction.TEMPLATES_READ,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={"count": len(rows), "model_name": model_name, "purpose": purpose},
            )
        return _stack([vector for _, vector in rows])

    # Deletion

    def delete_subject(self, subject_id: str, reason: str, actor: str) -> DeletionReceipt:
        """Erase a subject (R-23) in one transaction: destroy the data key (crypto-shredding),
        delete the templates, withdraw open consents, and clear the name, leaving a tombstone.

        Idempotent: deleting an already deleted subject changes nothing and returns the
        original receipt (rebuilt from the audit log). ``NotFoundError`` for an unknown id.
        """
        check_id(subject_id, "subject id")
        reason = check_text(reason, "reason", REASON_LENGTH)
        with self._write() as session:
            subject = session.get(Subject, subject_id)
            if subject is None:
                raise NotFoundError(f"no subject with id {subject_id}")
            site_code = session.get_one(Site, subject.site_id).code
            if subject.status is SubjectStatus.DELETED:
                return _previous_receipt(session, subject, site_code)
            now = utcnow()
            templates_deleted = _count(session, Template, Template.subject_id == subject.id)
            session.execute(delete(Template).where(Template.subject_id == subject.id))
            key_destroyed = session.get(SubjectKey, subject.id) is not None
            session.execute(delete(SubjectKey).where(SubjectKey.subject_id == subject.id))
            open_consents = _count(
                session, Consent, Consent.subject_id == subject.id, Consent.withdrawn_at.is_(None)
            )
            session.execute(
                update(Consent)
                .where(Consent.subject_id == subject.id, Consent.withdrawn_at.is_(None))
                .values(withdrawn_at=now)
            )
            subject.display_name = None
            subject.status = SubjectStatus.DELETED
            subject.deleted_at = now
            event_id = self._audit(
                session,
                actor,
                AuditAction.SUBJECT_DELETED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={
                    "templates_deleted": templates_deleted,
                    "key_destroyed": key_destroyed,
                    "consents_withdrawn": open_consents,
                    "reason": reason,
                },
            )
        checkpoint_wal(self._engine)
        logger.info("deleted subject %s (%d templates)", subject_id, templates_deleted)
        return DeletionReceipt(
            subject_id=subject_id,
            site_code=site_code,
            deleted_at=now,
            reason=reason,
            templates_deleted=templates_deleted,
            key_destroyed=key_destroyed,
            audit_event_id=event_id,
        )

    # Audit

    def record_decision(
        self,
        site_code: str,
        actor: str,
        action: AuditAction | str,
        subject_id: str | None,
        outcome: str,
        detail: Mapping[str, DetailValue] | None = None,
    ) -> int:
        """Audit a gate decision (``decision.verify`` / ``decision.identify``); returns its id.

        ``subject_id`` is the claimed or matched subject, if any; ``detail`` a small flat dict
        that must not hold face data or scores (see ``audit.check_detail``).
        """
        decision = _enum_value(AuditAction, action, "action")
        if decision not in DECISION_ACTIONS:
            raise InvalidRecordError(f"{decision.value} is not a decision action")
        outcome = check_text(outcome, "outcome", OUTCOME_LENGTH)
        extra = dict(detail or {})
        if "outcome" in extra:
            raise InvalidRecordError("pass the outcome as the outcome argument, not in detail")
        if subject_id is not None:
            check_id(subject_id, "subject id")
        with self._write() as session:
            site = _site_by_code(session, site_code)
            if subject_id is not None:
                subject = session.get(Subject, subject_id)
                if subject is None or subject.site_id != site.id:
                    raise NotFoundError(f"no subject {subject_id} at site {site.code!r}")
            return self._audit(
                session,
                actor,
                decision,
                site_id=site.id,
                subject_id=subject_id,
                detail={"outcome": outcome, **extra},
            )

    def verify_audit(self) -> AuditReport:
        """Check the whole audit chain against ``audit_head`` (see ``verify_audit_chain``)."""
        with self._read() as session:
            return verify_audit_chain(session, self._site_key)

    def audit_events(self, subject_id: str) -> list[AuditRecord]:
        """The audit events that name a subject, oldest first (R-32: what was done with
        their data)."""
        check_id(subject_id, "subject id")
        with self._read() as session:
            return events_for_subject(session, subject_id)

    # Internals

    @contextmanager
    def _write(self) -> Iterator[Session]:
        self._check_open()
        with _database_errors(), self._writer.begin() as session:
            yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        self._check_open()
        with _database_errors(), self._reader.begin() as session:
            yield session

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def _audit(
        self,
        session: Session,
        actor: str,
        action: AuditAction,
        *,
        site_id: str | None = None,
        subject_id: str | None = None,
        detail: Mapping[str, DetailValue] | None = None,
    ) -> int:
        return append_event(
            session,
            self._site_key,
            actor=actor,
            action=action,
            site_id=site_id,
            subject_id=subject_id,
            detail=detail,
        )

    def _data_key(self, session: Session, subject: Subject, *, create: bool) -> bytes:
        row = session.get(SubjectKey, subject.id)
        if row is not None:
            return self._site_key.unwrap_data_key(
                row.wrapped_key, site_id=subject.site_id, subject_id=subject.id
            )
        if not create:
            raise IntegrityViolationError(f"subject {subject.id} has templates but no data key")
        data_key = new_data_key()
        wrapped = self._site_key.wrap_data_key(
            data_key, site_id=subject.site_id, subject_id=subject.id
        )
        session.add(SubjectKey(subject_id=subject.id, wrapped_key=wrapped, created_at=utcnow()))
        return data_key

    def _decrypt_usable(
        self, session: Session, scope: ColumnElement[bool], model_name: str
    ) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """(subject id, template) of active subjects' templates under unwithdrawn consents."""
        rows = session.execute(
            select(Template, Subject)
            .join(Subject, Subject.id == Template.subject_id)
            .join(Consent, Consent.id == Template.consent_id)
            .where(
                scope,
                Subject.status == SubjectStatus.ACTIVE,
                Consent.withdrawn_at.is_(None),
                Template.model_name == model_name,
            )
            .order_by(Subject.created_at, Subject.id, Template.created_at, Template.id)
        )
        keys: dict[str, bytes] = {}
        out = []
        for template, subject in rows:
            if subject.id not in keys:
                keys[subject.id] = self._data_key(session, subject, create=False)
            vector = decrypt_template(
                keys[subject.id],
                template.nonce,
                template.ciphertext,
                site_id=subject.site_id,
                subject_id=subject.id,
                template_id=template.id,
                model_name=template.model_name,
            )
            out.append((subject.id, vector))
        return out


@contextmanager
def _database_errors() -> Iterator[None]:
    # Driver errors (locked, disk full, constraint) become the typed StoreError.
    try:
        yield
    except DBAPIError as exc:
        raise StoreError(f"database error: {exc.orig}") from exc


def _prepare_data_dir(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise FileSystemError(f"data dir {data_dir} is not a directory")
    if not data_dir.exists():
        data_dir.mkdir(mode=0o700, parents=True)
        return
    if data_dir.stat().st_mode & 0o077:
        logger.warning("data dir %s is readable by other users; chmod 700 it", data_dir)


def _enum_value(enum_class: type[_E], value: _E | str, field: str) -> _E:
    try:
        return enum_class(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise InvalidRecordError(f"{field} {value!r} is not one of: {allowed}") from None


def _site_by_code(session: Session, code: str) -> Site:
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        raise NotFoundError(f"no site with code {code!r}")
    return site


def _active_subject(session: Session, subject_id: str) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFoundError(f"no subject with id {subject_id}")
    if subject.status is SubjectStatus.DELETED:
        raise NotFoundError(f"subject {subject_id} was deleted; its data no longer exists")
    return subject


def _has_active_consent(session: Session, subject_id: str) -> bool:
    conditions = (Consent.subject_id == subject_id, Consent.withdrawn_at.is_(None))
    return _count(session, Consent, *conditions) > 0


def _count(
    session: Session, entity: type[Template | Consent], *conditions: ColumnElement[bool]
) -> int:
    return session.scalar(select(func.count()).select_from(entity).where(*conditions)) or 0


def _subject_infos(session: Session, *conditions: ColumnElement[bool]) -> list[SubjectInfo]:
    active_consent = (
        select(Consent.id)
        .where(Consent.subject_id == Subject.id, Consent.withdrawn_at.is_(None))
        .exists()
    )
    template_count = (
        select(func.count(Template.id)).where(Template.subject_id == Subject.id).scalar_subquery()
    )
    rows = session.execute(
        select(Subject, Site.code, active_consent, template_count)
        .join(Site, Site.id == Subject.site_id)
        .where(*conditions)
        .order_by(Subject.created_at, Subject.id)
    )
    return [
        SubjectInfo(
            id=subject.id,
            site_code=site_code,
            display_name=subject.display_name,
            kind=subject.kind,
            status=subject.status,
            created_at=subject.created_at,
            deleted_at=subject.deleted_at,
            has_active_consent=bool(has_consent),
            template_count=int(count),
        )
        for subject, site_code, has_consent, count in rows
    ]


def _previous_receipt(session: Session, subject: Subject, site_code: str) -> DeletionReceipt:
    events = events_for_subject(session, subject.id, AuditAction.SUBJECT_DELETED)
    if not events or subject.deleted_at is None:
        raise IntegrityViolationError(
            f"subject {subject.id} is deleted but its subject.deleted audit event is missing"
        )
    event = events[-1]
    try:
        return DeletionReceipt(
            subject_id=subject.id,
            site_code=site_code,
            deleted_at=subject.deleted_at,
            reason=str(event.detail["reason"]),
            templates_deleted=int(event.detail["templates_deleted"] or 0),
            key_destroyed=bool(event.detail["key_destroyed"]),
            audit_event_id=event.id,
        )
    except KeyError as exc:
        raise IntegrityViolationError(
            f"audit event {event.id} lacks the deletion field {exc}"
        ) from None


def _site_info(site: Site) -> SiteInfo:
    return SiteInfo(id=site.id, code=site.code, name=site.name, created_at=site.created_at)


def _consent_info(consent: Consent) -> ConsentInfo:
    return ConsentInfo(
        id=consent.id,
        subject_id=consent.subject_id,
        notice_version=consent.notice_version,
        given_at=consent.given_at,
        method=consent.method,
        given_by=consent.given_by,
        collected_by=consent.collected_by,
        withdrawn_at=consent.withdrawn_at,
    )


def _stack(vectors: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    if not vectors:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.stack(vectors).astype(np.float32, copy=False)
