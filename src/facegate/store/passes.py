"""Visitor passes: a resident's one-time code for a visitor, at chosen gates, in a window.

A pass is a one-time code (a ``credential`` row, kind otp) of the inviting resident, so it
takes the gate's existing one-time-code path: kept only as a keyed hash, spent in the
transaction that opens, refused when revoked, used or expired, and audited as the
resident's ``decision.credential`` with a ``visitor_pass`` marker. The pass adds the gates
it opens and the start of its window (the end is the code's ``expires_at``). About the
visitor it keeps at most a short label the resident chooses (R-12): no name, phone or ID.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facegate.errors import InvalidRecordError, NotFoundError, PolicyError
from facegate.store.audit import AuditAction
from facegate.store.checks import check_id, check_text
from facegate.store.credentials import (
    _holder,
    _new_credential,
    draw_otp,
    log_revoked,
)
from facegate.store.module import StoreModule
from facegate.store.records import CredentialKind, CredentialStatus
from facegate.store.schema import (
    VISITOR_LABEL_LENGTH,
    Credential,
    Gate,
    Subject,
    VisitorPass,
    VisitorPassGate,
    new_id,
    utcnow,
)

#: Passes one resident may hold unused and unexpired at once.
MAX_ACTIVE_PASSES = 5
#: A pass is for a visit, not a standing credential.
MAX_PASS_LENGTH = timedelta(hours=24)
#: How far ahead a pass may start.
MAX_PASS_LEAD = timedelta(days=7)
#: A start a little in the past is "now" (the page's clock and the server's differ).
START_SLACK = timedelta(minutes=5)
#: A pass is for one visit, so a few gates (a site's entrances and a building door or two);
#: the cap also bounds what one resident's request makes the store look up and record.
MAX_PASS_GATES = 20


class PassStatus(StrEnum):
    """Where a pass stands, for its owner's list."""

    UPCOMING = "upcoming"
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class PassInfo:
    """A pass as its owner sees it: never the code or its hash."""

    id: str
    subject_id: str
    #: The one-time code behind the pass (a ``credential`` row of the resident's).
    credential_id: str
    label: str | None
    gate_codes: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    created_at: datetime
    status: PassStatus
    used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class IssuedPass:
    """A new pass. ``code`` exists only here, once: the store keeps a keyed hash."""

    visitor_pass: PassInfo
    code: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class PassWindow:
    """What the gate checks of a pass beyond its code: where and from when."""

    id: str
    gate_ids: frozenset[str]
    valid_from: datetime


class Passes(StoreModule):
    """Visitor passes (module docstring)."""

    def create(
        self,
        subject_id: str,
        gate_codes: Sequence[str],
        valid_from: datetime,
        valid_until: datetime,
        *,
        label: str | None = None,
        actor: str,
    ) -> IssuedPass:
        """A pass from ``subject_id`` for a visitor; audited as a ``credential.issued``.

        ``PolicyError`` for a resident who moved out (``moved_out``), one holding
        :data:`MAX_ACTIVE_PASSES` (``too_many_passes``), or a gate that takes no one-time
        codes (``gate_takes_no_codes``); ``InvalidRecordError`` for a window that is not
        within :data:`MAX_PASS_LEAD` ahead and :data:`MAX_PASS_LENGTH` long.
        """
        check_id(subject_id, "subject id")
        label = check_text(label, "visitor label", VISITOR_LABEL_LENGTH) if label else None
        codes = sorted({code.strip() for code in gate_codes if code.strip()})
        if not codes:
            raise InvalidRecordError("a pass names at least one gate", reason="pass_gates")
        if len(codes) > MAX_PASS_GATES:
            raise InvalidRecordError(
                f"a pass names at most {MAX_PASS_GATES} gates", reason="too_many_pass_gates"
            )
        now = utcnow()
        _check_window(valid_from, valid_until, now)
        with self._store.transaction() as session:
            subject = _holder(session, subject_id)
            gates = session.scalars(
                select(Gate).where(Gate.site_id == subject.site_id, Gate.code.in_(codes))
            ).all()
            if len(gates) != len(codes):
                # Not echoed: the codes are the caller's text, and one could be megabytes.
                raise NotFoundError(
                    "a gate this pass names is not at this site", reason="pass_unknown_gate"
                )
            if not all(gate.accepts_otp for gate in gates):
                raise PolicyError(
                    "a pass is a one-time code: every gate it names must accept one",
                    reason="gate_takes_no_codes",
                )
            if _active_count(session, subject.id, now) >= MAX_ACTIVE_PASSES:
                raise PolicyError(
                    f"this resident already holds {MAX_ACTIVE_PASSES} unused visitor passes: "
                    "revoke one or let it expire first",
                    reason="too_many_passes",
                )
            code, lookup = draw_otp(session, self._store, subject.site_id)
            credential = _new_credential(subject, CredentialKind.OTP, lookup_hash=lookup)
            credential.expires_at = valid_until
            session.add(credential)
            session.flush()
            visit = VisitorPass(
                id=new_id(),
                credential_id=credential.id,
                subject_id=subject.id,
                label=label,
                valid_from=valid_from,
                valid_until=valid_until,
                created_at=now,
            )
            session.add(visit)
            session.flush()
            session.add_all(VisitorPassGate(pass_id=visit.id, gate_id=gate.id) for gate in gates)
            # The label stays out of the audit log: it may name the visitor.
            self._store.audit(
                session,
                actor,
                AuditAction.CREDENTIAL_ISSUED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={
                    "credential_id": credential.id,
                    "kind": CredentialKind.OTP.value,
                    "visitor_pass": visit.id,
                    "gates": ",".join(codes),
                    "valid_from": valid_from.isoformat(),
                    "valid_until": valid_until.isoformat(),
                },
            )
            info = _info(visit, credential, tuple(codes), now)
        return IssuedPass(visitor_pass=info, code=code)

    def list_for_subject(self, subject_id: str) -> builtins.list[PassInfo]:
        """The resident's passes, newest first, spent, expired and revoked ones included."""
        check_id(subject_id, "subject id")
        now = utcnow()
        with self._store.reading() as session:
            rows = session.execute(
                select(VisitorPass, Credential)
                .join(Credential, Credential.id == VisitorPass.credential_id)
                .where(VisitorPass.subject_id == subject_id)
                .order_by(VisitorPass.created_at.desc(), VisitorPass.id)
            ).all()
            gates = _gate_codes(session, [visit.id for visit, _ in rows])
            return [
                _info(visit, credential, gates.get(visit.id, ()), now) for visit, credential in rows
            ]

    def credential_ids(self, subject_id: str) -> frozenset[str]:
        """The ids of the one-time codes behind ``subject_id``'s passes: the visitors' ways
        in, not the resident's own."""
        check_id(subject_id, "subject id")
        with self._store.reading() as session:
            return frozenset(
                session.scalars(
                    select(VisitorPass.credential_id).where(VisitorPass.subject_id == subject_id)
                )
            )

    def revoke(self, subject_id: str, pass_id: str, actor: str) -> PassInfo:
        """Revoke one of ``subject_id``'s passes at once; a spent or revoked one is returned
        unchanged. ``NotFoundError`` for a pass that is not theirs (the same as none)."""
        check_id(subject_id, "subject id")
        check_id(pass_id, "pass id")
        now = utcnow()
        with self._store.transaction() as session:
            visit = session.get(VisitorPass, pass_id)
            if visit is None or visit.subject_id != subject_id:
                raise NotFoundError(f"no visitor pass {pass_id} of this resident")
            credential = session.get_one(Credential, visit.credential_id)
            gates = _gate_codes(session, [visit.id]).get(visit.id, ())
            if credential.status is not CredentialStatus.ACTIVE:
                return _info(visit, credential, gates, now)
            credential.status = CredentialStatus.REVOKED
            credential.revoked_at = now
            site_id = session.get_one(Subject, subject_id).site_id
            self._store.audit(
                session,
                actor,
                AuditAction.CREDENTIAL_REVOKED,
                site_id=site_id,
                subject_id=subject_id,
                detail={
                    "credential_id": credential.id,
                    "kind": CredentialKind.OTP.value,
                    "visitor_pass": visit.id,
                },
            )
            log_revoked(self._store, [credential], site_id)
            return _info(visit, credential, gates, now)

    def window_of(self, session: Session, credential_id: str) -> PassWindow | None:
        """The pass a one-time code belongs to (None: an ordinary code), in the gate's
        decision transaction."""
        visit = session.scalar(
            select(VisitorPass).where(VisitorPass.credential_id == credential_id)
        )
        if visit is None:
            return None
        gate_ids = session.scalars(
            select(VisitorPassGate.gate_id).where(VisitorPassGate.pass_id == visit.id)
        ).all()
        return PassWindow(visit.id, frozenset(gate_ids), visit.valid_from)


def _check_window(valid_from: datetime, valid_until: datetime, now: datetime) -> None:
    for name, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise InvalidRecordError(
                f"{name} must be a time with its time zone", reason="pass_time_zone"
            )
    if valid_until <= valid_from:
        raise InvalidRecordError("a pass ends after it starts", reason="pass_window_order")
    if valid_from < now - START_SLACK or valid_until <= now:
        raise InvalidRecordError("a pass cannot start in the past", reason="pass_in_past")
    if valid_from > now + MAX_PASS_LEAD:
        raise InvalidRecordError(
            f"a pass starts at most {MAX_PASS_LEAD.days} days ahead", reason="pass_too_far"
        )
    if valid_until - valid_from > MAX_PASS_LENGTH:
        raise InvalidRecordError(
            f"a pass lasts at most {int(MAX_PASS_LENGTH.total_seconds() // 3600)} hours",
            reason="pass_too_long",
        )


def _active_count(session: Session, subject_id: str, now: datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(VisitorPass)
        .join(Credential, Credential.id == VisitorPass.credential_id)
        .where(
            VisitorPass.subject_id == subject_id,
            Credential.status == CredentialStatus.ACTIVE,
            Credential.expires_at > now,
        )
    )
    return count or 0


def _gate_codes(session: Session, pass_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    if not pass_ids:
        return {}
    rows = session.execute(
        select(VisitorPassGate.pass_id, Gate.code)
        .join(Gate, Gate.id == VisitorPassGate.gate_id)
        .where(VisitorPassGate.pass_id.in_(pass_ids))
        .order_by(Gate.code)
    ).all()
    codes: dict[str, list[str]] = {}
    for pass_id, code in rows:
        codes.setdefault(pass_id, []).append(code)
    return {pass_id: tuple(found) for pass_id, found in codes.items()}


def _status(visit: VisitorPass, credential: Credential, now: datetime) -> PassStatus:
    if credential.status is CredentialStatus.REVOKED:
        return PassStatus.REVOKED
    if credential.status is CredentialStatus.USED:
        return PassStatus.USED
    if visit.valid_until <= now:
        return PassStatus.EXPIRED
    if now < visit.valid_from:
        return PassStatus.UPCOMING
    return PassStatus.ACTIVE


def _info(
    visit: VisitorPass, credential: Credential, gate_codes: tuple[str, ...], now: datetime
) -> PassInfo:
    return PassInfo(
        id=visit.id,
        subject_id=visit.subject_id,
        credential_id=visit.credential_id,
        label=visit.label,
        gate_codes=gate_codes,
        valid_from=visit.valid_from,
        valid_until=visit.valid_until,
        created_at=visit.created_at,
        status=_status(visit, credential, now),
        used_at=credential.used_at,
    )
