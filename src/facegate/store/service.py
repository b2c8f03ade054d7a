"""The store's public API: every write is one transaction that includes its audit event.

Nothing here returns ORM objects or key material; face templates leave the store only as
decrypted arrays from ``load_gallery`` / ``load_subject_templates``, and each such read is
audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from facegate.core.config import Settings
from facegate.errors import (
    AlreadyExistsError,
    FileSystemError,
    IntegrityViolationError,
    InvalidRecordError,
    KeyMaterialError,
    NotFoundError,
    StoreError,
)
from facegate.store.accounts import Accounts, Devices
from facegate.store.assessments import Assessments
from facegate.store.audit import (
    DECISION_ACTIONS,
    AuditAction,
    AuditRecord,
    AuditReport,
    DetailValue,
    append_event,
    check_key_matches,
    events_for_subject,
)
from facegate.store.audit_anchor import AuditReceipts, seal_after_upgrade, verify_anchored
from facegate.store.backups import Backups
from facegate.store.checks import (
    check_aware,
    check_birth_date,
    check_id,
    check_site_code,
    check_templates,
    check_text,
    minor_until_date,
)
from facegate.store.consents import Consents
from facegate.store.credentials import Credentials
from facegate.store.crypto import SiteKey, decrypt_template, encrypt_template, load_site_key
from facegate.store.engine import (
    READ_ONLY,
    check_supported,
    checkpoint_wal,
    has_schema,
    make_engine,
    prepare_sqlite_file,
)
from facegate.store.erasure import PendingErasure, erase_subject, receipt_info
from facegate.store.erasure import finish as finish_erasure
from facegate.store.exports import Exports
from facegate.store.filing import Filing, check_threshold
from facegate.store.gallery_cache import GalleryCache
from facegate.store.gallery_updates import MAX_UPDATED_SUBJECTS, changed_subjects
from facegate.store.gates import Gates
from facegate.store.homes import Home, check_home
from facegate.store.idempotency import Idempotency
from facegate.store.incidents import Incidents
from facegate.store.indexed_gallery import IndexedGallery, UsableTemplate
from facegate.store.keystore import Erased, KeyStore
from facegate.store.keystore_schema import ErasedKind, KeyOwnerKind
from facegate.store.migrate import upgrade_to_head
from facegate.store.notices import Notices
from facegate.store.operator_accounts import OperatorAccounts
from facegate.store.passes import Passes
from facegate.store.queries import (
    bump_gallery,
    count,
    require_assessment,
    require_usable_consent,
    usable_consent,
)
from facegate.store.reconcile import ReconcileReport
from facegate.store.reconcile import reconcile as reconcile_store
from facegate.store.records import (
    EMBEDDING_DIM,
    EXPIRING_KINDS,
    ConsentMethod,
    DeletionReason,
    DeletionReceipt,
    IncidentKind,
    SiteInfo,
    SubjectInfo,
    SubjectKind,
    SubjectStatus,
)
from facegate.store.residents import Residents, subject_info
from facegate.store.retention import Retention, subject_current
from facegate.store.schedules import Schedules
from facegate.store.schema import (
    ACTOR_LENGTH,
    MODEL_NAME_LENGTH,
    NAME_LENGTH,
    SITE_CODE_LENGTH,
    Consent,
    DeletionReceiptRow,
    Site,
    Snapshot,
    Subject,
    SubjectKey,
    Template,
    new_id,
    new_resident_number,
    utcnow,
)
from facegate.store.snapshots import Snapshots
from facegate.store.staff import Staff

logger = logging.getLogger(__name__)
_E = TypeVar("_E", SubjectKind, ConsentMethod, AuditAction, DeletionReason)

#: Actor recorded when a caller names none (e.g. setup scripts).
SYSTEM_ACTOR = "system"
PURPOSE_LENGTH = 64
REASON_LENGTH = 200
OUTCOME_LENGTH = 32
DEFAULT_RESIDENT_RETENTION_DAYS = 30
DEFAULT_SNAPSHOT_RETENTION_DAYS = 7
#: A consent dated further ahead than this is a typo, not a signature.
_CLOCK_SKEW = timedelta(minutes=5)
#: ``Session.info`` key: the transaction appended audit events (for the head receipt).
_APPENDED = "facegate_audit_appended"


class Store:
    """facegate's storage. Open with ``Store.open(settings)``; use as a context manager.

    >>> with Store.open(settings) as store:  # doctest: +SKIP
    ...     site = store.create_site("sunny-garden", "Sunny Garden")
    """

    def __init__(
        self, engine: Engine, site_key: SiteKey, keystore: KeyStore, settings: Settings
    ) -> None:
        self._engine = engine
        self._site_key = site_key
        self._keystore = keystore
        self._settings = settings
        self._writer = sessionmaker(engine, expire_on_commit=False)
        self._reader = sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self._closed = False
        #: The signed head receipt kept outside the database (``audit_anchor``).
        self.audit_receipts = AuditReceipts(
            settings.resolved_audit_receipt_path, site_key, self.reading
        )
        # The store's areas, each in its own module.
        self.accounts = Accounts(self)
        self.devices = Devices(self)
        self.staff = Staff(self)
        self.idempotency = Idempotency(self)
        self.notices = Notices(self)
        self.consents = Consents(self)
        self.gates = Gates(self)
        self.credentials = Credentials(self)
        self.schedules = Schedules(self)
        self.passes = Passes(self)
        self.assessments = Assessments(self)
        self.retention = Retention(self)
        self.snapshots = Snapshots(self)
        self.exports = Exports(self)
        self.incidents = Incidents(self)
        self.backups = Backups(self)
        #: Decrypted galleries between gate decisions (see ``gallery_cache``).
        self._gallery_cache = GalleryCache()
        #: What the last ``reconcile`` did (``open`` runs one).
        self.last_reconcile: ReconcileReport | None = None
        self.filing = Filing(self)
        #: The console's resident list: search, paging, CSV import and export.
        self.residents = Residents(self)
        #: Property companies' accounts over their sites (issue 16).
        self.operator_accounts = OperatorAccounts(self)

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """Create the data dir (0700) if needed, load the site key, migrate to head."""
        _prepare_data_dir(settings.data_dir)
        url = settings.resolved_database_url
        check_supported(url)
        engine = make_engine(url)
        keystore: KeyStore | None = None
        try:
            with _database_errors():
                exists = has_schema(engine)
            # The key first: without it an empty database must not be created.
            site_key = load_site_key(settings, database_exists=exists)
            prepare_sqlite_file(url)
            with _database_errors():
                upgrade_to_head(engine, after_upgrade=seal_after_upgrade(site_key))
                with Session(engine) as session:
                    check_key_matches(session, site_key)
                    _check_keystore_present(session, settings)
            keystore = KeyStore.open(settings, site_key)
            store = cls(engine, site_key, keystore, settings)
            store.reconcile()
        except BaseException:
            if keystore is not None:
                keystore.close()
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        if not self._closed:
            self.audit_receipts.write()
        self._closed = True
        self._gallery_cache.evict()
        self._engine.dispose()
        self._keystore.close()

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def keystore(self) -> KeyStore:
        return self._keystore

    def reconcile(self, *, replay: bool = False) -> ReconcileReport:
        """Finish what a crash or a restore left behind (see ``store.reconcile``); run by
        ``open``. ``replay`` also replays the erasure log, as after restoring a backup."""
        self.last_reconcile = reconcile_store(self, replay=replay)
        return self.last_reconcile

    def cached_subject_ids(self) -> frozenset[str]:
        """Ids of the subjects whose templates sit decrypted in the gallery cache (never the
        templates: those leave the store only through audited loads)."""
        return self._gallery_cache.subject_ids()

    def evict_galleries(self, site_code: str | None = None) -> int:
        """Drop the site's cached galleries (every site's when None); returns how many."""
        return self._gallery_cache.evict(site_code)

    def forget_gallery_subject(
        self, site_code: str, subject_id: str, *, unless_at: int | None = None
    ) -> int:
        """Remove one subject's templates from the site's cached galleries at once (an
        erasure, R-23), to be read back at the next load if still usable; galleries at
        gallery version ``unless_at`` or later are left alone. Returns from how many."""
        return self._gallery_cache.forget_subject(site_code, subject_id, unless_at=unless_at)

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

    def create_site(
        self, code: str, name: str, *, operator: str | None = None, actor: str = SYSTEM_ACTOR
    ) -> SiteInfo:
        """A new site; ``AlreadyExistsError`` if the code is taken.

        ``operator`` is the organisation running it (R-31 counts people per operator); by
        default the site is its own operator.
        """
        code = check_site_code(code, SITE_CODE_LENGTH)
        name = check_text(name, "site name", NAME_LENGTH)
        operator = check_text(operator if operator is not None else name, "operator", NAME_LENGTH)
        with self._write() as session:
            if session.scalar(select(Site.id).where(Site.code == code)) is not None:
                raise AlreadyExistsError(
                    f"a site with code {code!r} already exists", reason="site_exists"
                )
            site = Site(
                id=new_id(),
                code=code,
                name=name,
                operator=operator,
                created_at=utcnow(),
                keep_disputed_frames=False,
                resident_retention_days=DEFAULT_RESIDENT_RETENTION_DAYS,
                snapshot_retention_days=DEFAULT_SNAPSHOT_RETENTION_DAYS,
                gallery_version=0,
            )
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
        date_of_birth: date | None = None,
        expires_at: datetime | None = None,
        home: Home | None = None,
        actor: str = SYSTEM_ACTOR,
    ) -> SubjectInfo:
        """A new active subject, without consent or templates yet.

        ``date_of_birth`` is used only to tell whether the subject is under 14 (R-04) and is
        not stored: only the day they turn 14 is, and only for children. None means the
        operator states the subject is 14 or older. Visitors and temporary residents need
        ``expires_at`` (R-24); residents may not have one (their data ends at move-out).
        Nothing else is asked for: no ID-card number, phone or address (R-12); ``home``
        (building, unit, household) only organises the console's list.
        """
        display_name = check_text(display_name, "display name", NAME_LENGTH)
        place = check_home(home)
        subject_kind = _enum_value(SubjectKind, kind, "kind")
        now = utcnow()
        minor_until = None
        if date_of_birth is not None:
            minor_until = minor_until_date(check_birth_date(date_of_birth, now.date()))
            if minor_until <= now.date():
                minor_until = None
        if subject_kind in EXPIRING_KINDS:
            if expires_at is None:
                raise InvalidRecordError(
                    f"a {subject_kind.value} needs expires_at: their data expires by itself",
                    reason="expiry_required",
                )
            if check_aware(expires_at, "expires_at") <= now:
                raise InvalidRecordError(
                    "expires_at must be in the future", reason="expiry_in_past"
                )
        elif expires_at is not None:
            raise InvalidRecordError(
                "a resident has no expiry date: their data ends with move-out",
                reason="resident_no_expiry",
            )
        with self._write() as session:
            site = _site_by_code(session, site_code)
            subject = Subject(
                id=new_id(),
                site_id=site.id,
                resident_number=_free_resident_number(session, site.id),
                display_name=display_name,
                kind=subject_kind,
                status=SubjectStatus.ACTIVE,
                created_at=now,
                minor_until=minor_until,
                expires_at=expires_at,
                building=place.building,
                unit=place.unit,
                household=place.household,
            )
            session.add(subject)
            self._audit(
                session,
                actor,
                AuditAction.SUBJECT_ADDED,
                site_id=site.id,
                subject_id=subject.id,
                detail={"kind": subject_kind.value, "minor": minor_until is not None},
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

    # Templates

    def check_enrollment_allowed(self, subject_id: str) -> None:
        """Raise the typed reason why the subject cannot be enrolled now, if any: unknown or
        deleted subject, no impact assessment (R-30), no usable consent (R-02, R-05, R-07),
        consent awaiting renewal (R-06), child without guardian consent (R-04)."""
        check_id(subject_id, "subject id")
        with self._read() as session:
            subject = _active_subject(session, subject_id)
            require_assessment(session, subject.site_id)
            require_usable_consent(session, subject)

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
            require_assessment(session, subject.site_id)
            consent_id = require_usable_consent(session, subject)
            # Committed before the templates: a crash leaves an unused key, never a
            # template without one.
            data_key = self._keystore.get_or_create(
                subject.id, subject.site_id, KeyOwnerKind.SUBJECT
            )
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
            # counted in this transaction, so two enrollments cannot both miss it.
            check_threshold(session, self, subject.site_id, actor)
            bump_gallery(session, subject.site_id, subject.id)
            return template_ids

    def load_gallery(
        self, site_code: str, model_name: str, actor: str, purpose: str
    ) -> IndexedGallery:
        """All usable templates of a site for one model, decrypted, for 1:N matching.

        Only templates of active subjects whose face entry is open (not moved out, not
        expired) under a usable consent. Served from ``gallery_cache`` while the site's
        gallery has not changed; after a change that names its subjects (enrollment,
        withdrawal, erasure, move-out: ``gallery_change``), or once a visit or consent
        has ended with no write, only those subjects' templates are read and decrypted
        into the cached gallery, else it is rebuilt. Every call,
        cached or not, writes a ``templates.read`` audit event (count, purpose), in a
        write transaction that also checks the gallery did not change meanwhile.
        """
        model_name = check_text(model_name, "model name", MODEL_NAME_LENGTH)
        purpose = check_text(purpose, "purpose", PURPOSE_LENGTH)
        now = utcnow()
        valid_until: datetime | None = None
        built: IndexedGallery | None = None
        with self.incidents.reporting(IncidentKind.TEMPLATE_INTEGRITY, site_code):
            with self._read() as session:
                site = _site_by_code(session, site_code)
                version = site.gallery_version
                gallery = self._gallery_cache.get(site.code, model_name, version, now)
                cached = gallery is not None
                since = self._gallery_cache.version(site.code, model_name)
                if gallery is None and (
                    since is None or changed_subjects(session, site.id, since, version) is None
                ):
                    # Decrypted in a read transaction: at 100,000 subjects this takes
                    # seconds, and card and PIN decisions need the write lock meanwhile.
                    built, valid_until = self._build_gallery(session, site, model_name, now)
            with self._write() as session:
                site = _site_by_code(session, site_code)
                changed = site.gallery_version != version
                if gallery is None or changed:
                    cached = False
                    gallery = None
                    if built is None or changed:
                        # A few subjects changed (or more since it was read): update the
                        # cached gallery under the write lock, so nothing erased is served.
                        gallery = self._update_gallery(session, site, model_name, utcnow())
                    if gallery is None:
                        if built is None or changed:
                            now = utcnow()
                            built, valid_until = self._build_gallery(session, site, model_name, now)
                        # Cached before commit: an erasure's eviction can only come after.
                        self._gallery_cache.put(
                            site.code, model_name, site.gallery_version, valid_until, built
                        )
                        gallery = built
                self._audit(
                    session,
                    actor,
                    AuditAction.TEMPLATES_READ,
                    site_id=site.id,
                    detail={
                        "count": len(gallery),
                        "subjects": gallery.subject_count,
                        "model_name": model_name,
                        "purpose": purpose,
                        "cached": cached,
                    },
                )
        return gallery

    def _update_gallery(
        self, session: Session, site: Site, model_name: str, now: datetime
    ) -> IndexedGallery | None:
        """The cached gallery brought up to the site's version and to ``now`` by
        re-reading only the subjects changed since (``gallery_updates``) and those whose
        templates' end has come (an ended visit or consent: normally removed); None when
        it must be rebuilt."""
        since = self._gallery_cache.version(site.code, model_name)
        if since is None:
            return None
        changed = changed_subjects(session, site.id, since, site.gallery_version)
        if changed is None:
            return None
        subjects = sorted(changed | self._gallery_cache.ended_subjects(site.code, model_name, now))
        templates: dict[str, list[UsableTemplate]] = {s: [] for s in subjects}
        # In slices: many visits can end at once, and the IN list must stay short.
        for first in range(0, len(subjects), MAX_UPDATED_SUBJECTS):
            some = subjects[first : first + MAX_UPDATED_SUBJECTS]
            rows, _ = self._decrypt_usable(
                session, Subject.id.in_(some) & (Subject.site_id == site.id), model_name, now
            )
            for row in rows:
                templates[row.subject_id].append(row)
        return self._gallery_cache.advance(
            site.code, model_name, (since, site.gallery_version), now, templates
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
        with (
            self.incidents.reporting(IncidentKind.TEMPLATE_INTEGRITY),
            self._write() as session,
        ):
            subject = _active_subject(session, subject_id)
            require_usable_consent(session, subject)
            rows, _ = self._decrypt_usable(session, Subject.id == subject.id, model_name, utcnow())
            self._audit(
                session,
                actor,
                AuditAction.TEMPLATES_READ,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={"count": len(rows), "model_name": model_name, "purpose": purpose},
            )
        return _stack([row.vector for row in rows])

    # Deletion

    def delete_subject(
        self, subject_id: str, reason: DeletionReason | str, actor: str
    ) -> DeletionReceipt:
        """Erase a subject (R-23): templates, credentials, kept frames, names, and the data
        keys in the key store (crypto-shredding), leaving a tombstone and a receipt.

        Idempotent: deleting an already deleted subject writes nothing new and returns the
        original receipt (and destroys the key if a crash or a busy key store kept the first
        deletion from it). ``NotFoundError`` for an unknown id.
        """
        check_id(subject_id, "subject id")
        why = _enum_value(DeletionReason, reason, "reason")
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        with self._write() as session:
            subject = session.get(Subject, subject_id)
            if subject is None:
                raise NotFoundError(f"no subject with id {subject_id}")
            if subject.status is SubjectStatus.DELETED:
                receipt = _previous_receipt(session, subject)
                pending = PendingErasure(
                    receipt=receipt,
                    key_owners=(subject.id,),
                    snapshot_ids=(),
                    erased=(
                        Erased(
                            subject.id,
                            ErasedKind.SUBJECT,
                            subject.site_id,
                            receipt.reason.value,
                            receipt.deleted_at,
                        ),
                    ),
                )
            else:
                pending = erase_subject(session, self, subject, why, actor, utcnow())
        finish_erasure(self, pending)
        logger.info("deleted subject %s (%s)", subject_id, why.value)
        return pending.receipt

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
        """Audit a gate decision (``decision.verify`` / ``decision.identify``), or staff's
        test of recognition (``recognition.tested``, not a gate decision); returns its id.

        ``subject_id`` is the claimed or matched subject, if any; ``detail`` a small flat dict
        that must not hold face data or scores (see ``audit.check_detail``).
        """
        decision = _enum_value(AuditAction, action, "action")
        if decision not in DECISION_ACTIONS and decision is not AuditAction.RECOGNITION_TESTED:
            raise InvalidRecordError(
                f"{decision.value} is not a decision action", reason="not_a_decision"
            )
        outcome = check_text(outcome, "outcome", OUTCOME_LENGTH)
        extra = dict(detail or {})
        if "outcome" in extra:
            raise InvalidRecordError(
                "pass the outcome as the outcome argument, not in detail",
                reason="outcome_in_detail",
            )
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
        """Check the whole audit chain against ``audit_head``, its seal and the head receipt
        (see ``audit_anchor.verify_anchored``); an intact log gets a new receipt.

        A broken chain is also recorded as an ``audit_chain_broken`` incident (R-28).
        """
        receipt = self.audit_receipts.load()  # before the log's snapshot: see verify_anchored
        with self._read() as session:
            report = verify_anchored(session, self._site_key, receipt)
        if report.ok:
            self.audit_receipts.write()
        else:
            where = report.first_bad_event_id
            try:
                self.incidents.record(
                    IncidentKind.AUDIT_CHAIN_BROKEN,
                    f"audit chain broken at event {where}: {report.reason}",
                )
            except StoreError:
                # The report still goes out: it is what the caller acts on.
                logger.exception("could not record the broken audit chain as an incident")
        return report

    def audit_events(self, subject_id: str) -> list[AuditRecord]:
        """The audit events that name a subject, oldest first (R-32: what was done with
        their data)."""
        check_id(subject_id, "subject id")
        with self._read() as session:
            return events_for_subject(session, subject_id)

    # For the store's own modules (consents, credentials, retention...): one write
    # transaction holding the write lock, a read transaction, and the audit append.

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        self._check_open()
        with _database_errors(), self._writer.begin() as session:
            yield session
        if session.info.get(_APPENDED):
            self.audit_receipts.after_append()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        self._check_open()
        with _database_errors(), self._reader.begin() as session:
            yield session

    def audit(
        self,
        session: Session,
        actor: str,
        action: AuditAction,
        *,
        site_id: str | None = None,
        subject_id: str | None = None,
        detail: Mapping[str, DetailValue] | None = None,
    ) -> int:
        """Append an audit event in ``session``'s transaction; returns its id."""
        return self._audit(
            session, actor, action, site_id=site_id, subject_id=subject_id, detail=detail
        )

    def checkpoint(self) -> None:
        """Flush the WAL into the database file (after deleting, so nothing lingers there)."""
        checkpoint_wal(self._engine)

    @property
    def site_key(self) -> SiteKey:
        return self._site_key

    # Internals

    _write = transaction
    _read = reading

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
        session.info[_APPENDED] = True
        return append_event(
            session,
            self._site_key,
            actor=actor,
            action=action,
            site_id=site_id,
            subject_id=subject_id,
            detail=detail,
        )

    def _build_gallery(
        self, session: Session, site: Site, model_name: str, now: datetime
    ) -> tuple[IndexedGallery, datetime | None]:
        """The site's gallery at ``now`` and until when it stays valid without a write."""
        rows, valid_until = self._decrypt_usable(
            session, Subject.site_id == site.id, model_name, now
        )
        return IndexedGallery(rows), valid_until

    def _decrypt_usable(
        self, session: Session, scope: ColumnElement[bool], model_name: str, now: datetime
    ) -> tuple[list[UsableTemplate], datetime | None]:
        """The usable templates in ``scope`` at ``now`` (in matching order), and the
        earliest moment one of them stops being usable without a write (None: never).

        A subject whose data key is missing is skipped with a warning rather than failing
        the whole gate: nobody can read those templates any more, and the next
        ``reconcile`` (at every open) erases them with a receipt.
        """
        rows = session.execute(
            select(
                Template.id,
                Template.nonce,
                Template.ciphertext,
                Template.model_name,
                Subject.id,
                Subject.site_id,
                Subject.expires_at,
                Subject.moved_out_at,
                Consent.expires_at,
            )
            .join(Subject, Subject.id == Template.subject_id)
            .join(Consent, Consent.id == Template.consent_id)
            .where(
                scope,
                Subject.status == SubjectStatus.ACTIVE,
                subject_current(now),
                usable_consent(now),
                Template.model_name == model_name,
            )
            .order_by(Subject.created_at, Subject.id, Template.created_at, Template.id)
        ).all()
        owners = {row[4]: row[5] for row in rows}
        # One key-store read for the whole gallery, not one per subject.
        keys = self._keystore.get_many(owners)
        ends = [
            end
            for *_, subject_end, moved_out_at, consent_end in rows
            for end in (subject_end, moved_out_at, consent_end)
            if end is not None
        ]
        out = []
        for template_id, nonce, ciphertext, template_model, subject_id, site_id, *end in rows:
            key = keys.get(subject_id)
            if key is None:
                continue
            vector = decrypt_template(
                key,
                nonce,
                ciphertext,
                site_id=site_id,
                subject_id=subject_id,
                template_id=template_id,
                model_name=template_model,
            )
            ends_at = min((e for e in end if e is not None), default=None)
            out.append(UsableTemplate(subject_id, template_id, vector, ends_at))
        keyless = len(owners) - len(keys)
        if keyless:
            logger.warning(
                "skipped the templates of %d subject(s) whose data key is gone; the next "
                "reconcile erases them",
                keyless,
            )
        return out, min(ends, default=None)


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


def _check_keystore_present(session: Session, settings: Settings) -> None:
    """Refuse to start a new, empty key store beside data that only the old one can read.

    Opening with an empty key store erases every template and kept frame it cannot read
    (``reconcile``): right when the key store is truly lost, a disaster when its path is
    merely wrong or its disk not mounted. Losing it is therefore declared, by leaving an
    empty file at its path.
    """
    path = settings.resolved_keystore_path
    if path.exists():
        return
    # Keys still in a revision-0001 database's own table move to the key store on open.
    legacy = select(SubjectKey.subject_id)
    held = count(session, Template, Template.subject_id.not_in(legacy)) + count(session, Snapshot)
    if held:
        raise KeyMaterialError(
            f"the key store {path} is missing, but the database holds {held} encrypted "
            "templates and kept frames that only its keys can read. Restore it (it is never "
            "in database backups) or correct FACEGATE_KEYSTORE_PATH. If it is truly lost, "
            "create an empty file there: the next open erases what can no longer be read, "
            "with receipts."
        )


def _enum_value(enum_class: type[_E], value: _E | str, field: str) -> _E:
    try:
        return enum_class(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_class)
        raise InvalidRecordError(
            f"{field} {value!r} is not one of: {allowed}", reason="unknown_value"
        ) from None


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


def _free_resident_number(session: Session, site_id: str) -> str:
    """A random resident number no subject of the site has (tombstones included)."""
    while True:
        number = new_resident_number()
        taken = session.scalar(
            select(Subject.id).where(Subject.site_id == site_id, Subject.resident_number == number)
        )
        if taken is None:
            return number


def _subject_infos(session: Session, *conditions: ColumnElement[bool]) -> list[SubjectInfo]:
    active_consent = (
        select(Consent.id)
        .where(Consent.subject_id == Subject.id, usable_consent(utcnow()))
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
    today = utcnow().date()
    return [
        subject_info(subject, site_code, bool(has_consent), int(count), today)
        for subject, site_code, has_consent, count in rows
    ]


def _previous_receipt(session: Session, subject: Subject) -> DeletionReceipt:
    row = session.scalar(
        select(DeletionReceiptRow)
        .where(
            DeletionReceiptRow.subject_id == subject.id,
            DeletionReceiptRow.subject_erased.is_(True),
        )
        .order_by(DeletionReceiptRow.deleted_at.desc())
        .limit(1)
    )
    if row is None:
        raise IntegrityViolationError(f"subject {subject.id} is deleted but has no receipt")
    return receipt_info(row, session.get_one(Site, subject.site_id).code)


def _site_info(site: Site) -> SiteInfo:
    return SiteInfo(id=site.id, code=site.code, name=site.name, created_at=site.created_at)


def _stack(vectors: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    if not vectors:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.stack(vectors).astype(np.float32, copy=False)
