"""Detected leak, tamper or loss (R-28).

An incident is written when an integrity check fails: the audit chain does not verify, a
template or data key fails authentication, a model file's hash differs from the registry.
Its ``detail`` is the check's message: record ids and reasons, never names or face data.

Each incident is also an ``incident.recorded`` audit event. Appending to a chain that was
found broken is safe (the append links to ``audit_head`` only, and the broken link stays
where it is, so verification keeps failing at the same event); when ``audit_head`` itself
is gone the incident is written without its audit event rather than not at all.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.errors import (
    FacegateError,
    IntegrityViolationError,
    InvalidRecordError,
    NotFoundError,
    StoreError,
)
from facegate.store.audit import AuditAction
from facegate.store.checks import check_id, check_text
from facegate.store.module import StoreModule
from facegate.store.queries import site_by_code
from facegate.store.records import IncidentKind
from facegate.store.schema import ACTOR_LENGTH, Incident, Site, new_id, utcnow

logger = logging.getLogger(__name__)

#: The actor of incidents that facegate's own checks detect.
DETECTOR_ACTOR = "system:integrity"
DETAIL_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class IncidentInfo:
    id: str
    kind: IncidentKind
    detail: str
    site_code: str | None
    detected_at: datetime
    resolved_at: datetime | None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class Incidents(StoreModule):
    """Incident records: written by the integrity checks, listed and resolved by operators."""

    def record(
        self, kind: IncidentKind | str, detail: str, site_code: str | None = None
    ) -> IncidentInfo:
        """Record an incident, or return the open one with the same kind, site and detail
        (a check that keeps failing the same way is one incident, not one per run)."""
        try:
            incident_kind = IncidentKind(kind)
        except ValueError:
            raise InvalidRecordError(
                f"incident kind {kind!r} is not one of the known kinds",
                reason="unknown_incident_kind",
            ) from None
        text = check_text(_shorten(detail), "incident detail", DETAIL_LENGTH)
        try:
            info = self._record(incident_kind, text, site_code, audited=True)
        except IntegrityViolationError:
            logger.error("audit_head is missing: recording the incident without an audit event")
            info = self._record(incident_kind, text, site_code, audited=False)
        logger.error("incident %s (%s): %s", info.id, info.kind.value, info.detail)
        return info

    def list(self, *, open_only: bool = True) -> builtins.list[IncidentInfo]:
        """Incidents, oldest first; resolved ones too unless ``open_only``."""
        with self._store.reading() as session:
            stmt = select(Incident, Site.code).outerjoin(Site, Site.id == Incident.site_id)
            if open_only:
                stmt = stmt.where(Incident.resolved_at.is_(None))
            rows = session.execute(stmt.order_by(Incident.detected_at, Incident.id))
            return [_info(row, code) for row, code in rows]

    def resolve(self, incident_id: str, actor: str) -> IncidentInfo:
        """Mark an incident handled. Resolving a resolved incident changes nothing."""
        check_id(incident_id, "incident id")
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        with self._store.transaction() as session:
            row = session.get(Incident, incident_id)
            if row is None:
                raise NotFoundError(f"no incident with id {incident_id}")
            if row.resolved_at is None:
                row.resolved_at = utcnow()
                self._store.audit(
                    session,
                    actor,
                    AuditAction.INCIDENT_RESOLVED,
                    site_id=row.site_id,
                    detail={"incident_id": row.id, "kind": row.kind.value},
                )
            return _info(row, _site_code(session, row.site_id))

    @contextmanager
    def reporting(
        self,
        kind: IncidentKind,
        site_code: str | None = None,
        *,
        on: type[FacegateError] = IntegrityViolationError,
    ) -> Iterator[None]:
        """Record an incident when the block raises ``on`` (by default
        ``IntegrityViolationError``; a model check passes ``ModelIntegrityError``); re-raise it.

        Put it outside the transaction that failed: the incident needs a transaction of its
        own, after the failed one has rolled back and let go of the write lock.
        """
        try:
            yield
        except on as exc:
            try:
                self.record(kind, str(exc), site_code)
            except StoreError:
                logger.exception("could not record a %s incident", kind.value)
            raise

    def _record(
        self, kind: IncidentKind, detail: str, site_code: str | None, *, audited: bool
    ) -> IncidentInfo:
        with self._store.transaction() as session:
            site = None if site_code is None else site_by_code(session, site_code)
            site_id = None if site is None else site.id
            existing = session.scalar(
                select(Incident).where(
                    Incident.kind == kind,
                    Incident.detail == detail,
                    Incident.resolved_at.is_(None),
                    Incident.site_id.is_(None) if site_id is None else Incident.site_id == site_id,
                )
            )
            if existing is not None:
                return _info(existing, site_code)
            row = Incident(
                id=new_id(), site_id=site_id, detected_at=utcnow(), kind=kind, detail=detail
            )
            session.add(row)
            if audited:
                self._store.audit(
                    session,
                    DETECTOR_ACTOR,
                    AuditAction.INCIDENT_RECORDED,
                    site_id=site_id,
                    detail={"incident_id": row.id, "kind": kind.value},
                )
            return _info(row, site_code)


def _shorten(detail: str) -> str:
    # A check's message can be long (paths, hashes); the record keeps its start.
    return detail if len(detail) <= DETAIL_LENGTH else detail[: DETAIL_LENGTH - 1] + "…"


def _site_code(session: Session, site_id: str | None) -> str | None:
    return None if site_id is None else session.scalar(select(Site.code).where(Site.id == site_id))


def _info(row: Incident, site_code: str | None) -> IncidentInfo:
    return IncidentInfo(
        id=row.id,
        kind=row.kind,
        detail=row.detail,
        site_code=site_code,
        detected_at=row.detected_at,
        resolved_at=row.resolved_at,
    )
