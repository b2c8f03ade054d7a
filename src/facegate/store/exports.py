"""What the system holds about a subject, for the subject (R-32, PIPL 44 and 45).

The export lists the subject's record, consents, guardians, non-face credentials, kept
frames, deletion receipts and every audit event that names them (access decisions,
template reads, changes). It never holds a template, an embedding, key material or a hash:
of the face templates it says only how many are held, for which model and since when.
A deleted subject's export shows the tombstone and the receipts. Every export is audited.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.errors import NotFoundError
from facegate.store.audit import AuditAction, events_for_subject
from facegate.store.checks import check_id, check_text
from facegate.store.detail_keys import AUDITOR_ONLY_DETAIL
from facegate.store.module import StoreModule
from facegate.store.queries import is_minor
from facegate.store.schema import (
    ACTOR_LENGTH,
    Consent,
    Credential,
    DeletionReceiptRow,
    Gate,
    Guardian,
    Site,
    Snapshot,
    Subject,
    Template,
    utcnow,
)

#: Changes when a field is renamed or removed, so readers of old exports can tell.
EXPORT_FORMAT = "facegate.subject_export/1"

JsonDict = dict[str, Any]


class Exports(StoreModule):
    """Subject access requests (R-32)."""

    def subject_export(self, subject_id: str, actor: str) -> JsonDict:
        """Everything held about ``subject_id`` as a JSON-ready dict (str, int, bool, None,
        lists and dicts only); writes a ``subject.exported`` audit event, which the export
        includes. ``NotFoundError`` for an unknown id."""
        check_id(subject_id, "subject id")
        actor = check_text(actor, "actor", ACTOR_LENGTH)
        now = utcnow()
        with self._store.transaction() as session:
            subject = session.get(Subject, subject_id)
            if subject is None:
                raise NotFoundError(f"no subject with id {subject_id}")
            site = session.get_one(Site, subject.site_id)
            export: JsonDict = {
                "format": EXPORT_FORMAT,
                "exported_at": _iso(now),
                "exported_by": actor,
                "subject": _subject(subject, site),
                "face_templates": _templates(session, subject_id),
                "consents": _consents(session, subject_id),
                "guardians": _guardians(session, subject_id),
                "credentials": _credentials(session, subject_id),
                "kept_frames": _kept_frames(session, subject_id),
                "deletion_receipts": _receipts(session, subject_id),
            }
            self._store.audit(
                session,
                actor,
                AuditAction.DATA_EXPORTED,
                site_id=site.id,
                subject_id=subject_id,
                detail={"format": EXPORT_FORMAT},
            )
            export["audit_events"] = [
                {
                    "id": event.id,
                    "at": _iso(event.at),
                    "actor": event.actor,
                    "action": event.action,
                    "detail": _for_the_person(event.detail),
                }
                for event in events_for_subject(session, subject_id)
            ]
            return export


def _for_the_person(detail: Any) -> Any:
    """An event's detail as the person reads it: without what is for auditors only."""
    if not isinstance(detail, dict):
        return detail
    return {k: v for k, v in detail.items() if k not in AUDITOR_ONLY_DETAIL}


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _subject(subject: Subject, site: Site) -> JsonDict:
    return {
        "id": subject.id,
        "site_code": site.code,
        "site_name": site.name,
        "operator": site.operator,
        "display_name": subject.display_name,
        "kind": subject.kind.value,
        "status": subject.status.value,
        "created_at": _iso(subject.created_at),
        "deleted_at": _iso(subject.deleted_at),
        "minor": is_minor(subject),
        "moved_out_at": _iso(subject.moved_out_at),
        "expires_at": _iso(subject.expires_at),
    }


def _templates(session: Session, subject_id: str) -> JsonDict:
    rows = session.execute(
        select(Template.model_name, Template.created_at)
        .where(Template.subject_id == subject_id)
        .order_by(Template.created_at, Template.id)
    ).all()
    return {
        "count": len(rows),
        "held": [{"model_name": model, "created_at": _iso(created)} for model, created in rows],
        "note": "the templates themselves are encrypted and are not part of this export",
    }


def _consents(session: Session, subject_id: str) -> list[JsonDict]:
    rows = session.scalars(
        select(Consent)
        .where(Consent.subject_id == subject_id)
        .order_by(Consent.given_at, Consent.id)
    )
    return [
        {
            "id": row.id,
            "notice_version": row.notice_version,
            "given_at": _iso(row.given_at),
            "expires_at": _iso(row.expires_at),
            "method": row.method.value,
            "evidence_ref": row.evidence_ref,
            "given_by": row.given_by,
            "guardian_id": row.guardian_id,
            "collected_by": row.collected_by,
            "withdrawn_at": _iso(row.withdrawn_at),
            "withdrawn_by": row.withdrawn_by,
            "renewal_required_at": _iso(row.renewal_required_at),
        }
        for row in rows
    ]


def _guardians(session: Session, subject_id: str) -> list[JsonDict]:
    rows = session.scalars(
        select(Guardian)
        .where(Guardian.subject_id == subject_id)
        .order_by(Guardian.created_at, Guardian.id)
    )
    return [
        {
            "id": row.id,
            "display_name": row.display_name,
            "relation": row.relation.value,
            "created_at": _iso(row.created_at),
            "removed_at": _iso(row.removed_at),
        }
        for row in rows
    ]


def _credentials(session: Session, subject_id: str) -> list[JsonDict]:
    # Never lookup_hash or secret_hash: the export says a card exists, not its number.
    rows = session.scalars(
        select(Credential)
        .where(Credential.subject_id == subject_id)
        .order_by(Credential.created_at, Credential.id)
    )
    return [
        {
            "id": row.id,
            "kind": row.kind.value,
            "status": row.status.value,
            "created_at": _iso(row.created_at),
            "expires_at": _iso(row.expires_at),
            "used_at": _iso(row.used_at),
            "revoked_at": _iso(row.revoked_at),
        }
        for row in rows
    ]


def _kept_frames(session: Session, subject_id: str) -> list[JsonDict]:
    rows = session.execute(
        select(Snapshot, Gate.code)
        .outerjoin(Gate, Gate.id == Snapshot.gate_id)
        .where(Snapshot.subject_id == subject_id)
        .order_by(Snapshot.taken_at, Snapshot.id)
    )
    return [
        {
            "id": row.id,
            "gate_code": gate_code,
            "taken_at": _iso(row.taken_at),
            "expires_at": _iso(row.expires_at),
            "reason": row.reason,
            "bystanders_redacted": row.bystanders_redacted,
        }
        for row, gate_code in rows
    ]


def _receipts(session: Session, subject_id: str) -> list[JsonDict]:
    rows = session.scalars(
        select(DeletionReceiptRow)
        .where(DeletionReceiptRow.subject_id == subject_id)
        .order_by(DeletionReceiptRow.deleted_at, DeletionReceiptRow.id)
    )
    return [
        {
            "id": row.id,
            "deleted_at": _iso(row.deleted_at),
            "reason": row.reason.value,
            "requested_by": row.requested_by,
            "subject_erased": row.subject_erased,
            "templates_deleted": row.templates_deleted,
            "credentials_deleted": row.credentials_deleted,
            "snapshots_deleted": row.snapshots_deleted,
            "keys_destroyed": row.keys_destroyed,
            "audit_event_id": row.audit_event_id,
        }
        for row in rows
    ]
