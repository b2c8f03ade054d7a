"""Admin: the site's notices, gates, devices, recent decisions, audit verification,
retention runs, compliance report and impact assessments."""

from __future__ import annotations

import os
from collections import Counter
from enum import StrEnum
from pathlib import Path

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse

from facegate.api.deps import StoreDep
from facegate.api.routes.admin_scope import SiteAdmin, actor_of
from facegate.api.schemas.gates import (
    DeviceIn,
    DeviceOut,
    GateIn,
    GateOut,
    RegisteredDeviceOut,
)
from facegate.api.schemas.notices import NoticeIn, NoticeOut, PublicationOut
from facegate.api.schemas.reports import (
    AssessmentIn,
    AssessmentOut,
    AuditVerifyOut,
    ComplianceOut,
    DecisionOut,
    LiveCheckOut,
    RetentionOut,
    RuleEntryOut,
)
from facegate.api.schemas.retention import RetentionPolicyIn, RetentionPolicyOut
from facegate.errors import NotFoundError
from facegate.privacy.compliance import (
    ComplianceReport,
    build_report,
    render_html,
    render_markdown,
)
from facegate.privacy.live import check_site
from facegate.privacy.run_results import DEFAULT_RESULTS_PATH, RESULTS_ENV, read_run
from facegate.store.notices import NoticeContent
from facegate.store.site_reads import MAX_RECENT_DECISIONS, recent_decisions, site_event_count

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: site"])


class ReportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    MD = "md"


# Notices


@router.get("/notices", response_model=list[NoticeOut])
def list_notices(site: str, store: StoreDep, _: SiteAdmin) -> list[NoticeOut]:
    """Role: the site's administrator. Every published version, oldest first."""
    return [NoticeOut.of(n) for n in store.notices.list(site)]


@router.post("/notices", response_model=PublicationOut, status_code=201)
def publish_notice(site: str, body: NoticeIn, store: StoreDep, admin: SiteAdmin) -> PublicationOut:
    """Role: the site's administrator. A widening notice marks consents for renewal (R-06)."""
    content = NoticeContent.parse(body.content)
    publication = store.notices.publish(site, body.version, content, actor=actor_of(admin))
    return PublicationOut(
        notice=NoticeOut.of(publication.notice),
        consents_needing_renewal=publication.consents_needing_renewal,
    )


# Gates and devices


@router.get("/gates", response_model=list[GateOut])
def list_gates(site: str, store: StoreDep, _: SiteAdmin) -> list[GateOut]:
    """Role: the site's administrator."""
    return [GateOut.of(g) for g in store.gates.list(site)]


@router.put("/gates/{gate}", response_model=GateOut)
def configure_gate(
    site: str, gate: str, body: GateIn, store: StoreDep, admin: SiteAdmin
) -> GateOut:
    """Role: the site's administrator. Creates or reconfigures a gate; a face-only gate is
    refused (R-10)."""
    info = store.gates.configure(
        site,
        gate,
        body.name,
        accepts_face=body.accepts_face,
        accepts_card=body.accepts_card,
        accepts_pin=body.accepts_pin,
        accepts_otp=body.accepts_otp,
        liveness=body.liveness,
        actor=actor_of(admin),
    )
    return GateOut.of(info)


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(site: str, store: StoreDep, _: SiteAdmin) -> list[DeviceOut]:
    """Role: the site's administrator. Never a key or its hash."""
    return [DeviceOut.of(d) for d in store.devices.list(site)]


@router.post("/devices", response_model=RegisteredDeviceOut, status_code=201)
def register_device(
    site: str, body: DeviceIn, store: StoreDep, admin: SiteAdmin
) -> RegisteredDeviceOut:
    """Role: the site's administrator. The API key is in this answer only."""
    registered = store.devices.register(site, body.name, body.gates, actor=actor_of(admin))
    return RegisteredDeviceOut(device=DeviceOut.of(registered.info), api_key=registered.api_key)


@router.delete("/devices/{device_id}", response_model=DeviceOut)
def revoke_device(site: str, device_id: str, store: StoreDep, admin: SiteAdmin) -> DeviceOut:
    """Role: the site's administrator. Another site's device answers 404."""
    if device_id not in {d.id for d in store.devices.list(site)}:
        raise NotFoundError(f"no device {device_id}")
    return DeviceOut.of(store.devices.revoke(device_id, actor=actor_of(admin)))


# Decisions, audit, retention


@router.get("/decisions", response_model=list[DecisionOut])
def list_decisions(
    site: str,
    store: StoreDep,
    _: SiteAdmin,
    limit: int = Query(default=50, ge=1, le=MAX_RECENT_DECISIONS),
) -> list[DecisionOut]:
    """Role: the site's administrator. Recent gate decisions from the audit log, newest
    first; outcomes and reason codes, never scores."""
    return [DecisionOut.of(r) for r in recent_decisions(store, site, limit)]


@router.post("/audit/verify", response_model=AuditVerifyOut)
def verify_audit(site: str, store: StoreDep, _: SiteAdmin) -> AuditVerifyOut:
    """Role: the site's administrator. Checks the hash chain of the whole audit log (R-27)
    and counts this site's events in it (other sites' activity is not theirs to know)."""
    report = store.verify_audit()
    return AuditVerifyOut(
        ok=report.ok,
        events_checked=site_event_count(store, site),
        first_bad_event_id=report.first_bad_event_id,
        reason=report.reason,
    )


@router.post("/retention/run", response_model=RetentionOut)
def run_retention(site: str, store: StoreDep, admin: SiteAdmin) -> RetentionOut:
    """Role: the site's administrator. Erases what is due at this site (R-24); other
    sites are theirs to run."""
    report = store.retention.run(actor=actor_of(admin), site_code=site)
    mine = [r for r in report.receipts if r.site_code == site]
    return RetentionOut(
        ran_at=report.ran_at,
        erased=dict(Counter(r.reason.value for r in mine)),
        receipts=[r.id for r in mine],
    )


@router.put("/retention/policy", response_model=RetentionPolicyOut)
def set_retention_policy(
    site: str, body: RetentionPolicyIn, store: StoreDep, admin: SiteAdmin
) -> RetentionPolicyOut:
    """Role: the site's administrator. Changes the given settings only (none given: 422);
    keeping disputed frames needs a notice that declares it (409)."""
    policy = store.retention.set_policy(
        site,
        resident_retention_days=body.resident_retention_days,
        snapshot_retention_days=body.snapshot_retention_days,
        keep_disputed_frames=body.keep_disputed_frames,
        actor=actor_of(admin),
    )
    return RetentionPolicyOut.of(policy)


# Compliance and assessments


@router.get(
    "/compliance",
    response_model=ComplianceOut,
    responses={200: {"content": {"text/html": {}, "text/markdown": {}}}},
)
def compliance_report(
    site: str,
    store: StoreDep,
    _: SiteAdmin,
    format: ReportFormat = ReportFormat.JSON,
) -> ComplianceOut | Response:
    """Role: the site's administrator. The R-01…R-33 matrix: last test run and live site
    checks; ``?format=html|md`` for the rendered file."""
    results_path = Path(os.environ.get(RESULTS_ENV) or DEFAULT_RESULTS_PATH)
    report = build_report(
        read_run(results_path), check_site(store, site), results_path=results_path
    )
    if format is ReportFormat.HTML:
        return HTMLResponse(render_html(report))
    if format is ReportFormat.MD:
        return Response(render_markdown(report), media_type="text/markdown; charset=utf-8")
    return _compliance_out(site, report)


def _compliance_out(site: str, report: ComplianceReport) -> ComplianceOut:
    return ComplianceOut(
        site=site,
        generated_at=report.generated_at,
        facegate_version=report.facegate_version,
        entries=[
            RuleEntryOut(
                rule=e.rule.id.value,
                title=e.rule.title,
                status=e.status.value,
                status_note=e.status_note,
                live_status=None if e.live_status is None else e.live_status.value,
                live_note=e.live_note,
            )
            for e in report.entries
        ],
        live_checks=[
            LiveCheckOut(
                name=c.name,
                rules=[r.value for r in c.rules],
                status=c.status.value,
                explanation=c.explanation,
            )
            for c in report.live_checks
        ],
        notes=list(report.notes),
    )


@router.get("/assessments", response_model=list[AssessmentOut])
def list_assessments(site: str, store: StoreDep, _: SiteAdmin) -> list[AssessmentOut]:
    """Role: the site's administrator. Impact assessments on record (R-30)."""
    return [AssessmentOut.of(a) for a in store.assessments.list(site)]


@router.post("/assessments", response_model=AssessmentOut, status_code=201)
def record_assessment(
    site: str, body: AssessmentIn, store: StoreDep, admin: SiteAdmin
) -> AssessmentOut:
    """Role: the site's administrator."""
    info = store.assessments.record(
        site,
        body.assessor,
        body.summary,
        assessed_at=body.assessed_at,
        document_sha256=body.document_sha256,
        actor=actor_of(admin),
    )
    return AssessmentOut.of(info)
