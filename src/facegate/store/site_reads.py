"""Reads the web service needs to keep each administrator inside their own site.

Functions over an open ``Store`` (not a store module): which site a credential belongs
to, and a site's recent gate decisions from the audit log.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select, true

from facegate.errors import NotFoundError
from facegate.store.audit import DECISION_ACTIONS, AuditRecord
from facegate.store.checks import check_id
from facegate.store.queries import site_by_code, usable_consent
from facegate.store.records import SubjectStatus
from facegate.store.retention import subject_current
from facegate.store.schema import AuditEvent, Consent, Credential, Site, Subject, Template, utcnow
from facegate.store.service import Store

#: The most decisions one read returns.
MAX_RECENT_DECISIONS = 500


def credential_site_code(store: Store, credential_id: str) -> str:
    """The code of the site whose subject holds ``credential_id``; ``NotFoundError`` if none."""
    check_id(credential_id, "credential id")
    with store.reading() as session:
        code = session.scalar(
            select(Site.code)
            .join(Subject, Subject.site_id == Site.id)
            .join(Credential, Credential.subject_id == Subject.id)
            .where(Credential.id == credential_id)
        )
    if code is None:
        raise NotFoundError(f"no credential with id {credential_id}")
    return code


def has_templates(store: Store, site_code: str, model_name: str) -> bool:
    """Whether the site holds any template of ``model_name`` (no face data is read)."""
    with store.reading() as session:
        site = site_by_code(session, site_code)
        found = session.scalar(
            select(Template.id)
            .join(Subject, Subject.id == Template.subject_id)
            .where(Subject.site_id == site.id, Template.model_name == model_name)
            .limit(1)
        )
        return found is not None


def template_models(
    store: Store, site_code: str, subject_id: str | None = None
) -> dict[str, frozenset[str]]:
    """For each person at the site (or only ``subject_id``) whose face can be matched now
    (active, current, with a usable consent), the embedding models of their templates."""
    now = utcnow()
    with store.reading() as session:
        site = site_by_code(session, site_code)
        one = true() if subject_id is None else Subject.id == subject_id
        rows = session.execute(
            select(Subject.id, Template.model_name)
            .join(Template, Template.subject_id == Subject.id)
            .join(Consent, Consent.id == Template.consent_id)
            .where(
                one,
                Subject.site_id == site.id,
                Subject.status == SubjectStatus.ACTIVE,
                subject_current(now),
                usable_consent(now),
            )
            .distinct()
        )
        found: dict[str, set[str]] = {}
        for subject_id, model_name in rows:
            found.setdefault(subject_id, set()).add(model_name)
    return {subject_id: frozenset(models) for subject_id, models in found.items()}


def site_event_count(store: Store, site_code: str) -> int:
    """How many audit events concern this site: what its administrator may know of the log."""
    with store.reading() as session:
        site = site_by_code(session, site_code)
        count = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.site_id == site.id)
        )
        return int(count or 0)


def site_last_event_at(store: Store, site_code: str) -> datetime | None:
    """When the site's newest audit event was written (None: it has none)."""
    with store.reading() as session:
        site = site_by_code(session, site_code)
        return session.scalar(
            select(AuditEvent.at)
            .where(AuditEvent.site_id == site.id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )


def recent_decisions(store: Store, site_code: str, limit: int) -> list[AuditRecord]:
    """The site's latest gate decisions, newest first (at most ``MAX_RECENT_DECISIONS``)."""
    limit = max(0, min(limit, MAX_RECENT_DECISIONS))
    with store.reading() as session:
        site = site_by_code(session, site_code)
        events = session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.site_id == site.id,
                AuditEvent.action.in_([action.value for action in DECISION_ACTIONS]),
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
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
            for event in events
        ]
