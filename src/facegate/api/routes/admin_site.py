"""Admin: the site's notices, gates, devices, recent decisions, audit verification,
retention runs, compliance report and impact assessments."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

from fastapi import APIRouter, Query, Request, Response

from facegate.api.compliance_page import compliance_out, compliance_page, request_language
from facegate.api.deps import StoreDep
from facegate.api.routes.admin_scope import SiteAdmin, SiteReader, SiteStaff, actor_of
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
    RetentionOut,
)
from facegate.api.schemas.retention import RetentionPolicyIn, RetentionPolicyOut
from facegate.errors import NotFoundError
from facegate.privacy.compliance import (
    build_report,
    render_markdown,
)
from facegate.privacy.live import check_site
from facegate.privacy.release_results import load_release, release_results_path
from facegate.store.notices import NoticeContent
from facegate.store.site_reads import (
    MAX_RECENT_DECISIONS,
    recent_decisions,
    site_event_count,
    site_last_event_at,
)

router = APIRouter(prefix="/api/v1/sites/{site}", tags=["admin: site"])


class ReportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    MD = "md"


# Notices


@router.get("/notices", response_model=list[NoticeOut])
def list_notices(site: str, store: StoreDep, _: SiteStaff) -> list[NoticeOut]:
    """Role: any staff member. Every published version, oldest first."""
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
def list_gates(site: str, store: StoreDep, _: SiteStaff) -> list[GateOut]:
    """Role: any staff member."""
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
    _: SiteReader,
    limit: int = Query(default=50, ge=1, le=MAX_RECENT_DECISIONS),
) -> list[DecisionOut]:
    """Role: auditor (or administrator). Recent gate decisions from the audit log,
    newest first; outcomes and reason codes, never scores."""
    return [DecisionOut.of(r) for r in recent_decisions(store, site, limit)]


@router.post("/audit/verify", response_model=AuditVerifyOut)
def verify_audit(site: str, store: StoreDep, _: SiteReader) -> AuditVerifyOut:
    """Role: auditor (or administrator). Checks the hash chain of the whole audit log
    (R-27) and counts this site's events in it (other sites' activity is not theirs to know)."""
    report = store.verify_audit()
    return AuditVerifyOut(
        ok=report.ok,
        events_checked=site_event_count(store, site),
        last_event_at=site_last_event_at(store, site),
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
    request: Request,
    store: StoreDep,
    _: SiteReader,
    format: ReportFormat = ReportFormat.JSON,
) -> ComplianceOut | Response:
    """Role: auditor (or administrator). The R-01…R-33 matrix: the rule-test results shipped
    with this release (hash-checked) and live checks of the site, in the request's language
    (``?lang=``, else the language cookie); ``?format=html|md`` for a page or Markdown."""
    release_path = release_results_path()
    report = build_report(
        None,
        check_site(store, site),
        results_path=release_path,
        release=load_release(release_path),
    )
    site_name = store.get_site(site).name
    if format is ReportFormat.HTML:
        return compliance_page(request, report, site, site_name)
    if format is ReportFormat.MD:
        return Response(render_markdown(report), media_type="text/markdown; charset=utf-8")
    return compliance_out(report, site, site_name, request_language(request))


@router.get("/assessments", response_model=list[AssessmentOut])
def list_assessments(site: str, store: StoreDep, _: SiteReader) -> list[AssessmentOut]:
    """Role: auditor (or administrator). Impact assessments on record (R-30)."""
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
