"""Resident self-service: visitor passes. A resident makes a one-time pass for a visitor at
chosen gates in a time window, sees their passes and revokes one. Always the signed-in
resident's own passes: there is no subject id in these paths."""

from __future__ import annotations

import io

import segno
from fastapi import APIRouter

from facegate.api.deps import Resident, State, StoreDep
from facegate.api.ratelimit import Limit
from facegate.api.routes.admin_scope import actor_of
from facegate.api.schemas.passes import IssuedPassOut, PassGateOut, PassIn, PassOut

router = APIRouter(prefix="/api/v1/me/passes", tags=["resident"])

#: New passes per resident per hour: a few visitors a day, not a code printer.
PASS_CREATION = Limit("visitor_pass_creation", 10, 3600.0)
#: QR modules per module edge on screen, and the quiet zone around it (in modules).
QR_SCALE = 6
QR_BORDER = 4


def qr_svg(code: str) -> str:
    """``code`` as a QR code: a standalone SVG document (it goes into an ``<img>``)."""
    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(
        out, kind="svg", scale=QR_SCALE, border=QR_BORDER, xmldecl=False
    )
    return out.getvalue().decode("ascii")


@router.get("", response_model=list[PassOut])
def list_passes(resident: Resident, store: StoreDep) -> list[PassOut]:
    """Role: the signed-in resident. My passes, newest first (active, used, expired...)."""
    return [PassOut.of(p) for p in store.passes.list_for_subject(resident.principal_id)]


@router.get("/gates", response_model=list[PassGateOut])
def pass_gates(resident: Resident, store: StoreDep) -> list[PassGateOut]:
    """Role: the signed-in resident. The gates of my site a pass may name (those that take
    one-time codes)."""
    return [
        PassGateOut(code=g.code, name=g.name)
        for g in store.gates.list(resident.site_code)
        if g.accepts_otp
    ]


@router.post("", response_model=IssuedPassOut, status_code=201)
def create_pass(body: PassIn, resident: Resident, store: StoreDep, state: State) -> IssuedPassOut:
    """Role: the signed-in resident. A one-time pass for a visitor; its code and QR code are
    in this answer only (the store keeps a keyed hash). Refused for a resident who moved
    out, past five unused passes, and past ten new passes an hour."""
    state.hit(PASS_CREATION, resident.principal_id)
    issued = store.passes.create(
        resident.principal_id,
        body.gates,
        body.valid_from,
        body.valid_until,
        label=body.label,
        actor=actor_of(resident),
    )
    return IssuedPassOut(
        visitor_pass=PassOut.of(issued.visitor_pass),
        code=issued.code,
        qr_svg=qr_svg(issued.code),
    )


@router.post("/{pass_id}/revoke", response_model=PassOut)
def revoke_pass(pass_id: str, resident: Resident, store: StoreDep) -> PassOut:
    """Role: the signed-in resident. Revoke one of my passes at once (404 for another's)."""
    return PassOut.of(store.passes.revoke(resident.principal_id, pass_id, actor_of(resident)))
