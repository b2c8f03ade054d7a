"""Revocations a restored backup must not undo: their replay, and the log's backfill.

Every revocation is noted in the key store's revocation log before its transaction commits
(``Credentials.revoke`` and ``set_pin``, a one-time code spent at a gate,
``Devices.revoke``, ``Accounts.set_admin_password``, ``Retention.record_move_out``), so a
crash can leave an extra entry, never lose one. The key store is never in a backup, so after
a restore ``replay_revocations`` (run by ``store.reconcile`` in the restore's replay, which
the next open finishes if the process dies) applies each entry to the restored rows:

- a card, PIN or one-time code revoked, replaced or spent since is so again;
- a device key revoked since is refused again;
- an administrator's password changed since is the newer one again: the old one may be why
  it was changed, and forcing a reset instead would lock every such administrator out until
  someone with a shell resets them (the hash is the argon2id one the database held);
- a resident who moved out since has moved out again;
- everyone is signed out: every web session ends and every unredeemed sign-in code is spent.
  A session ended since the backup cannot be told from one still live, so none is kept.

Not carried forward: what was *issued* since the backup (cards, PINs, codes, devices,
administrators, subjects) is not in the restored database and must be issued again; a PIN
replaced since therefore leaves its owner with no PIN. Administrators' failed sign-ins and
the PIN pad's back-off are the backup's. The log keeps one row per revoked thing (ids, a
status, a time) and is never pruned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from facegate.store.accounts import end_sessions, spend_signin_codes
from facegate.store.audit import AuditAction
from facegate.store.keystore import Revoked
from facegate.store.keystore_schema import RevokedKind
from facegate.store.queries import bump_gallery
from facegate.store.records import (
    CredentialStatus,
    RevocationReplay,
    SubjectKind,
    SubjectStatus,
)
from facegate.store.schema import AdminAccount, Credential, GateDevice, Subject

if TYPE_CHECKING:
    from facegate.store.service import Store

logger = logging.getLogger(__name__)

#: ``detail.why`` of the audit events a replay writes.
WHY_RESTORE = "restore"
_ID_BATCH = 500
_Row = TypeVar("_Row", Credential, GateDevice)


@dataclass
class _Counts:
    """The per-entry part of ``RevocationReplay``, counted as the log is applied."""

    credentials_revoked: int = 0
    codes_spent: int = 0
    devices_revoked: int = 0
    admin_passwords_restored: int = 0
    moves_out: int = 0


def replay_revocations(store: Store, actor: str) -> RevocationReplay:
    """Apply the whole revocation log to the database and sign everyone out, in one
    transaction; audited per item (``why: restore``). Idempotent: a second run finds
    nothing to do but still ends whatever session opened in between."""
    entries = store.keystore.revocations()
    by_kind: dict[RevokedKind, list[Revoked]] = {kind: [] for kind in RevokedKind}
    for entry in entries:
        by_kind[entry.kind].append(entry)
    counts = _Counts()
    with store.transaction() as session:
        for kind, apply in _APPLY.items():
            apply(session, store, actor, by_kind[kind], counts)
        sessions = end_sessions(session)
        codes = spend_signin_codes(session)
        if sessions or codes:
            store.audit(
                session,
                actor,
                AuditAction.SIGNED_OUT,
                detail={
                    "why": WHY_RESTORE,
                    "sessions_ended": sessions,
                    "signin_codes_spent": codes,
                },
            )
    replay = RevocationReplay(**asdict(counts), sessions_ended=sessions, signin_codes_spent=codes)
    if replay != RevocationReplay():
        logger.warning("restore carried forward revocations: %s", replay)
    return replay


def backfill_revocation_log(store: Store) -> int:
    """Note what the database already holds as revoked, while the log is empty (a key store
    from before the log existed), so a backup older than those revocations cannot undo
    them; returns how many entries were added. Admin passwords cannot be backfilled."""
    if store.keystore.has_revocations():
        return 0
    with store.reading() as session:
        credentials = session.execute(
            select(
                Credential.id,
                Subject.site_id,
                Credential.status,
                Credential.used_at,
                Credential.revoked_at,
                Credential.created_at,
            )
            .join(Subject, Subject.id == Credential.subject_id)
            .where(Credential.status != CredentialStatus.ACTIVE)
        ).all()
        devices = session.execute(
            select(GateDevice.id, GateDevice.site_id, GateDevice.revoked_at).where(
                GateDevice.revoked_at.is_not(None)
            )
        ).all()
        moves = session.execute(
            select(Subject.id, Subject.site_id, Subject.moved_out_at).where(
                Subject.status == SubjectStatus.ACTIVE, Subject.moved_out_at.is_not(None)
            )
        ).all()
    entries = [
        Revoked(owner, RevokedKind.CREDENTIAL, site, status.value, used or revoked or created)
        for owner, site, status, used, revoked, created in credentials
    ]
    entries += [
        Revoked(device, RevokedKind.DEVICE, site, "revoked", at)
        for device, site, at in devices
        if at is not None
    ]
    entries += [
        Revoked(subject, RevokedKind.MOVE_OUT, site, "moved_out", at)
        for subject, site, at in moves
        if at is not None
    ]
    return store.keystore.log_revocations(entries)


def _credentials(
    session: Session, store: Store, actor: str, entries: Sequence[Revoked], counts: _Counts
) -> None:
    logged = {entry.target_id: entry for entry in entries}
    for row in _active(session, Credential, Credential.status == CredentialStatus.ACTIVE, logged):
        entry = logged[row.id]
        if entry.status == CredentialStatus.USED.value:
            row.status, row.used_at = CredentialStatus.USED, entry.at
            counts.codes_spent += 1
        else:  # revoked, or anything unexpected: the safe side
            row.status, row.revoked_at = CredentialStatus.REVOKED, entry.at
            counts.credentials_revoked += 1
        subject = session.get_one(Subject, row.subject_id)
        store.audit(
            session,
            actor,
            AuditAction.CREDENTIAL_REVOKED,
            site_id=subject.site_id,
            subject_id=subject.id,
            detail={
                "credential_id": row.id,
                "kind": row.kind.value,
                "status": row.status.value,
                "why": WHY_RESTORE,
            },
        )


def _devices(
    session: Session, store: Store, actor: str, entries: Sequence[Revoked], counts: _Counts
) -> None:
    logged = {entry.target_id: entry for entry in entries}
    for device in _active(session, GateDevice, GateDevice.revoked_at.is_(None), logged):
        device.revoked_at = logged[device.id].at
        counts.devices_revoked += 1
        store.audit(
            session,
            actor,
            AuditAction.DEVICE_REVOKED,
            site_id=device.site_id,
            detail={"device_id": device.id, "why": WHY_RESTORE},
        )


def _admin_passwords(
    session: Session, store: Store, actor: str, entries: Sequence[Revoked], counts: _Counts
) -> None:
    for entry in entries:
        account = session.get(AdminAccount, entry.target_id)
        if account is None or entry.password_hash is None:
            continue  # an account made after the backup is not in it
        if account.password_hash == entry.password_hash:
            continue
        account.password_hash = entry.password_hash
        account.failed_attempts = 0
        account.locked_until = None
        counts.admin_passwords_restored += 1
        store.audit(
            session,
            actor,
            AuditAction.ADMIN_CREATED,
            site_id=account.site_id,
            detail={"admin_id": account.id, "password_reset": True, "why": WHY_RESTORE},
        )


def _moves_out(
    session: Session, store: Store, actor: str, entries: Sequence[Revoked], counts: _Counts
) -> None:
    for entry in entries:
        subject = session.get(Subject, entry.target_id)
        if (
            subject is None
            or subject.status is not SubjectStatus.ACTIVE
            or subject.kind is not SubjectKind.RESIDENT
            or subject.moved_out_at is not None
        ):
            continue
        subject.moved_out_at = entry.at
        bump_gallery(session, subject.site_id, subject.id)
        counts.moves_out += 1
        store.audit(
            session,
            actor,
            AuditAction.SUBJECT_MOVED_OUT,
            site_id=subject.site_id,
            subject_id=subject.id,
            detail={"moved_out_at": entry.at.isoformat(timespec="seconds"), "why": WHY_RESTORE},
        )


def _active(
    session: Session, model: type[_Row], still_active: ColumnElement[bool], ids: Iterable[str]
) -> list[_Row]:
    """The rows among ``ids`` that the restored database still holds as active."""
    ordered = sorted(ids)
    found: list[_Row] = []
    for start in range(0, len(ordered), _ID_BATCH):
        batch = ordered[start : start + _ID_BATCH]
        found.extend(session.scalars(select(model).where(model.id.in_(batch), still_active)))
    return found


_Apply = Callable[[Session, "Store", str, Sequence[Revoked], _Counts], None]
_APPLY: dict[RevokedKind, _Apply] = {
    RevokedKind.CREDENTIAL: _credentials,
    RevokedKind.DEVICE: _devices,
    RevokedKind.ADMIN_PASSWORD: _admin_passwords,
    RevokedKind.MOVE_OUT: _moves_out,
}
