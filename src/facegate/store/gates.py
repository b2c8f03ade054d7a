"""Gates (doors) and what each accepts (R-10)."""

from __future__ import annotations

import builtins
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.errors import InvalidRecordError, NotFoundError, PolicyError
from facegate.store.audit import AuditAction
from facegate.store.checks import check_text
from facegate.store.module import StoreModule
from facegate.store.queries import site_by_code
from facegate.store.records import GateInfo, LivenessLevel
from facegate.store.schema import GATE_CODE_LENGTH, NAME_LENGTH, Gate, Site, new_id, utcnow

_GATE_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

#: The liveness level of a gate configured without naming one: the challenge of movements
#: too, since the passive check alone lets a still photo through at cameras it never saw
#: (issue 13). ``passive`` stays available, named explicitly.
DEFAULT_LIVENESS = LivenessLevel.PASSIVE_ACTIVE


class Gates(StoreModule):
    """Gates (doors) and what each accepts (R-10).

    Every gate accepts at least one non-face credential: ``configure`` refuses a face-only
    gate, and the database's CHECK refuses one written by anything else.
    """

    def configure(
        self,
        site_code: str,
        gate_code: str,
        name: str,
        *,
        accepts_face: bool,
        accepts_card: bool,
        accepts_pin: bool,
        accepts_otp: bool,
        liveness: LivenessLevel | str = DEFAULT_LIVENESS,
        actor: str,
    ) -> GateInfo:
        """Create the gate, or replace what an existing one accepts; returns it.

        ``liveness`` is replaced too: left out, it is :data:`DEFAULT_LIVENESS` (a challenge),
        also for a gate that was ``passive``. ``PolicyError`` (R-10) when no card, PIN or
        one-time code would open it.
        """
        gate_code = check_gate_code(gate_code)
        name = check_text(name, "gate name", NAME_LENGTH)
        flags = {
            "accepts_face": accepts_face,
            "accepts_card": accepts_card,
            "accepts_pin": accepts_pin,
            "accepts_otp": accepts_otp,
        }
        for field, value in flags.items():
            if not isinstance(value, bool):
                raise InvalidRecordError(f"{field} must be true or false", reason="not_boolean")
        if not (accepts_card or accepts_pin or accepts_otp):
            raise PolicyError(
                f"gate {gate_code!r} would accept no card, PIN or one-time code: every door "
                "must let people in without their face (R-10)",
                reason="gate_needs_non_face",
            )
        try:
            level = LivenessLevel(liveness)
        except ValueError:
            allowed = ", ".join(member.value for member in LivenessLevel)
            raise InvalidRecordError(
                f"liveness {liveness!r} is not one of: {allowed}", reason="unknown_liveness"
            ) from None
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            gate = session.scalar(
                select(Gate).where(Gate.site_id == site.id, Gate.code == gate_code)
            )
            created = gate is None
            if gate is None:
                gate = Gate(id=new_id(), site_id=site.id, code=gate_code, created_at=utcnow())
                session.add(gate)
            gate.name = name
            gate.accepts_face = accepts_face
            gate.accepts_card = accepts_card
            gate.accepts_pin = accepts_pin
            gate.accepts_otp = accepts_otp
            gate.liveness = level
            # R-10 over time too: the gate's schedule must still leave a non-face way in.
            if not created:
                self._store.schedules.check_gate(session, gate)
            self._store.audit(
                session,
                actor,
                AuditAction.GATE_CONFIGURED,
                site_id=site.id,
                detail={"gate": gate_code, "created": created, "liveness": level.value, **flags},
            )
            return gate_info(gate, site.code)

    def get(self, site_code: str, gate_code: str) -> GateInfo:
        with self._store.reading() as session:
            gate = gate_by_code(session, site_code, gate_code)
            return gate_info(gate, site_code)

    def list(self, site_code: str) -> builtins.list[GateInfo]:
        """The site's gates, by code."""
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            gates = session.scalars(select(Gate).where(Gate.site_id == site.id).order_by(Gate.code))
            return [gate_info(gate, site.code) for gate in gates]


def check_gate_code(value: str) -> str:
    code = check_text(value, "gate code", GATE_CODE_LENGTH)
    if not _GATE_CODE.fullmatch(code):
        raise InvalidRecordError(
            f"gate code {code!r} may hold only letters, digits, '.', '_' and '-'",
            reason="bad_gate_code",
        )
    return code


def gate_by_code(session: Session, site_code: str, gate_code: str) -> Gate:
    """The gate ``gate_code`` of the site ``site_code``; ``NotFoundError`` otherwise."""
    gate = session.scalar(
        select(Gate)
        .join(Site, Site.id == Gate.site_id)
        .where(Site.code == site_code, Gate.code == gate_code)
    )
    if gate is None:
        raise NotFoundError(f"no gate {gate_code!r} at site {site_code!r}")
    return gate


def gate_info(gate: Gate, site_code: str) -> GateInfo:
    return GateInfo(
        id=gate.id,
        site_code=site_code,
        code=gate.code,
        name=gate.name,
        accepts_face=gate.accepts_face,
        accepts_card=gate.accepts_card,
        accepts_pin=gate.accepts_pin,
        accepts_otp=gate.accepts_otp,
        liveness=gate.liveness,
        created_at=gate.created_at,
    )
