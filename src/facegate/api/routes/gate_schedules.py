"""Admin: a gate's weekly schedule, per kind (face, card, PIN, one-time code)."""

from __future__ import annotations

from fastapi import APIRouter

from facegate.api.deps import StoreDep
from facegate.api.routes.admin_scope import SiteAdmin, SiteStaff, actor_of
from facegate.api.schemas.schedules import ScheduleIn, ScheduleOut

router = APIRouter(prefix="/api/v1/sites/{site}/gates/{gate}", tags=["admin: site"])


@router.get("/schedule", response_model=ScheduleOut)
def get_schedule(site: str, gate: str, store: StoreDep, _: SiteStaff) -> ScheduleOut:
    """Role: any staff of the site. When each kind may open the gate (no windows: always)."""
    return ScheduleOut.of(store.schedules.get(site, gate))


@router.put("/schedule", response_model=ScheduleOut)
def put_schedule(
    site: str, gate: str, body: ScheduleIn, store: StoreDep, admin: SiteAdmin
) -> ScheduleOut:
    """Role: site administrator. Replace the gate's schedule (no windows removes it).
    Refused (policy_refused / schedule_face_only, R-10) when the face could open the gate
    at a time no card, PIN or one-time code it accepts could."""
    info = store.schedules.set(
        site,
        gate,
        [window.window() for window in body.windows],
        timezone=body.timezone,
        actor=actor_of(admin),
    )
    return ScheduleOut.of(info)
