"""A restore carries forward every revocation made after the backup was taken.

Cards, PINs, one-time codes (spent ones too), device keys, admin passwords and move-outs are
noted in the key store's revocation log, which no backup holds; a restore applies the log to
the restored rows and signs everyone out (``store.revocations``).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from facegate.core.config import Settings
from facegate.errors import AuthenticationError, StoreError
from facegate.store import SiteInfo, Store, SubjectKind
from facegate.store.audit import AuditAction
from facegate.store.backups import restore
from facegate.store.engine import make_engine
from facegate.store.keystore_schema import KeyBase, RevokedKind
from facegate.store.reconcile import RESTORE_MARKER
from facegate.store.records import (
    CredentialKind,
    CredentialReason,
    CredentialStatus,
    GateOutcome,
    RevocationReplay,
)
from facegate.store.schema import AdminAccount, AuditEvent, utcnow

from .helpers import OPERATOR, SITE_CODE

GATE = "north"
CARD = "ZX90-7788-QW"
OLD_PIN = "739182"
NEW_PIN = "480317"
ADMIN = "li@sunny"
OLD_PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a fresh and longer passphrase"


@pytest.fixture
def gate(store: Store, site: SiteInfo) -> str:
    store.gates.configure(
        SITE_CODE, GATE, "North gate",
        accepts_face=True, accepts_card=True, accepts_pin=True, accepts_otp=True,
        actor=OPERATOR,
    )  # fmt: skip
    return GATE


def _check(
    store: Store, kind: CredentialKind, secret: str, subject_id: str | None = None
) -> tuple[GateOutcome, CredentialReason]:
    decision = store.credentials.check(
        SITE_CODE, GATE, kind, secret, subject_id=subject_id, actor="device:test"
    )
    return decision.outcome, decision.reason


def _events(settings: Settings, action: AuditAction) -> list[dict[str, object]]:
    with Store.open(settings) as store, store.reading() as session:
        details = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action))
        return [json.loads(detail) for detail in details]


def test_a_restore_keeps_every_revocation_made_after_the_backup(
    store: Store, site: SiteInfo, gate: str, settings: Settings
) -> None:
    resident = store.add_subject(SITE_CODE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    card = store.credentials.issue_card(resident.id, CARD, OPERATOR)
    store.credentials.set_pin(resident.id, OLD_PIN, OPERATOR)
    otp = store.credentials.issue_otp(resident.id, OPERATOR)
    device = store.devices.register(SITE_CODE, "Kiosk", [GATE], actor=OPERATOR)
    store.accounts.create_admin(SITE_CODE, ADMIN, OLD_PASSWORD, actor=OPERATOR)
    signed_out = store.accounts.sign_in_admin(ADMIN, OLD_PASSWORD)
    still_live = store.accounts.sign_in_resident(
        SITE_CODE, store.accounts.issue_signin_code(resident.id, actor=OPERATOR)
    )
    unredeemed = store.accounts.issue_signin_code(resident.id, actor=OPERATOR)
    backup = store.backups.create(actor=OPERATOR)

    store.devices.revoke(device.info.id, actor=OPERATOR)
    store.credentials.revoke(card.id, OPERATOR)
    store.credentials.set_pin(resident.id, NEW_PIN, OPERATOR)
    assert _check(store, CredentialKind.OTP, otp.code) == (GateOutcome.OPEN, CredentialReason.OK)
    store.accounts.sign_out(signed_out.token)
    store.accounts.sign_in_admin(ADMIN, OLD_PASSWORD)
    store.accounts.set_admin_password(ADMIN, NEW_PASSWORD, actor=OPERATOR)
    store.close()

    report = restore(settings, backup.path, actor=OPERATOR)

    assert report.revocations == RevocationReplay(
        credentials_revoked=2,  # the card and the replaced PIN
        codes_spent=1,
        devices_revoked=1,
        admin_passwords_restored=1,
        moves_out=0,
        sessions_ended=2,  # the admin's signed-out one and the resident's live one
        signin_codes_spent=1,
    )
    (restored,) = _events(settings, AuditAction.BACKUP_RESTORED)
    assert {key: restored[key] for key in asdict(report.revocations)} == asdict(report.revocations)
    with Store.open(settings) as reopened:
        with pytest.raises(AuthenticationError):
            reopened.devices.authenticate(device.api_key)
        cards = [c for c in reopened.credentials.list_for_subject(resident.id) if c.id == card.id]
        assert [c.status for c in cards] == [CredentialStatus.REVOKED]
        assert _check(reopened, CredentialKind.CARD, CARD) == (
            GateOutcome.DENY,
            CredentialReason.REVOKED,
        )
        assert _check(reopened, CredentialKind.PIN, OLD_PIN, resident.id) == (
            GateOutcome.DENY,
            CredentialReason.WRONG_PIN,
        )
        assert _check(reopened, CredentialKind.OTP, otp.code) == (
            GateOutcome.DENY,
            CredentialReason.USED,
        )
        for token in (signed_out.token, still_live.token):
            with pytest.raises(AuthenticationError):
                reopened.accounts.session(token)
        with pytest.raises(AuthenticationError):
            reopened.accounts.sign_in_resident(SITE_CODE, unredeemed)
        with pytest.raises(AuthenticationError):
            reopened.accounts.sign_in_admin(ADMIN, OLD_PASSWORD)
        reopened.accounts.sign_in_admin(ADMIN, NEW_PASSWORD)
        assert reopened.verify_audit().ok
        # Nothing left to carry forward: a second replay changes nothing.
        again = reopened.reconcile(replay=True).revocations
        assert again == RevocationReplay(sessions_ended=1)  # the sign-in just above


@pytest.mark.rule("R-24")
def test_r24_a_restore_does_not_move_a_resident_back_in(
    store: Store, site: SiteInfo, gate: str, settings: Settings
) -> None:
    resident = store.add_subject(SITE_CODE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    store.credentials.issue_card(resident.id, CARD, OPERATOR)
    backup = store.backups.create(actor=OPERATOR)
    moved_out_at = store.retention.record_move_out(resident.id, actor=OPERATOR)
    store.close()

    assert restore(settings, backup.path, actor=OPERATOR).revocations.moves_out == 1
    with Store.open(settings) as reopened:
        assert reopened.get_subject(resident.id).moved_out_at == moved_out_at
        assert _check(reopened, CredentialKind.CARD, CARD) == (
            GateOutcome.DENY,
            CredentialReason.SUBJECT_INACTIVE,
        )


def test_a_restore_cut_short_carries_the_revocations_forward_at_the_next_open(
    store: Store, site: SiteInfo, gate: str, settings: Settings, db_path: Path
) -> None:
    resident = store.add_subject(SITE_CODE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    card = store.credentials.issue_card(resident.id, CARD, OPERATOR)
    backup = store.backups.create(actor=OPERATOR)
    store.credentials.revoke(card.id, OPERATOR)
    store.close()
    # What restore does before it reopens: marker, then the copy; then the process dies.
    (settings.data_dir / RESTORE_MARKER).touch()
    with closing(sqlite3.connect(backup.path)) as src, closing(sqlite3.connect(db_path)) as dst:
        src.backup(dst)
    with Store.open(settings) as reopened:
        assert reopened.last_reconcile is not None
        assert reopened.last_reconcile.revocations.credentials_revoked == 1
        assert _check(reopened, CredentialKind.CARD, CARD)[1] is CredentialReason.REVOKED
    assert not (settings.data_dir / RESTORE_MARKER).exists()


def test_a_revocation_is_logged_before_its_transaction_commits(
    store: Store, site: SiteInfo, gate: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failure after the log entry and before the commit leaves an extra revocation in the
    # log (applied only by a restore), never a revocation the log does not know of.
    resident = store.add_subject(SITE_CODE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    card = store.credentials.issue_card(resident.id, CARD, OPERATOR)
    log = store.keystore.log_revocations

    def log_then_fail(*args: object, **kwargs: object) -> int:
        log(*args, **kwargs)  # type: ignore[arg-type]
        raise StoreError("the disk is full")

    monkeypatch.setattr(store.keystore, "log_revocations", log_then_fail)
    with pytest.raises(StoreError):
        store.credentials.revoke(card.id, OPERATOR)
    monkeypatch.undo()
    (info,) = store.credentials.list_for_subject(resident.id)
    assert info.status is CredentialStatus.ACTIVE  # rolled back
    assert [(e.target_id, e.status) for e in store.keystore.revocations()] == [(card.id, "revoked")]


def test_each_kind_of_revocation_is_logged_once_and_a_password_keeps_only_its_newest_hash(
    store: Store, site: SiteInfo, gate: str
) -> None:
    resident = store.add_subject(SITE_CODE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    card = store.credentials.issue_card(resident.id, CARD, OPERATOR)
    store.credentials.revoke(card.id, OPERATOR)
    store.credentials.revoke(card.id, OPERATOR)  # already revoked: nothing new
    device = store.devices.register(SITE_CODE, "Kiosk", [GATE], actor=OPERATOR)
    store.devices.revoke(device.info.id, actor=OPERATOR)
    store.accounts.create_admin(SITE_CODE, ADMIN, OLD_PASSWORD, actor=OPERATOR)
    store.accounts.set_admin_password(ADMIN, NEW_PASSWORD, actor=OPERATOR)
    store.accounts.set_admin_password(ADMIN, OLD_PASSWORD + "!", actor=OPERATOR)
    store.retention.record_move_out(resident.id, actor=OPERATOR)
    kinds = sorted(entry.kind for entry in store.keystore.revocations())
    assert kinds == sorted(RevokedKind)
    (password,) = store.keystore.revocations(RevokedKind.ADMIN_PASSWORD)
    with store.reading() as session:
        current = session.scalars(select(AdminAccount.password_hash)).one()
    assert password.password_hash == current


def test_the_revocation_log_is_backfilled_from_a_key_store_that_had_none(
    store: Store, site: SiteInfo, gate: str, settings: Settings
) -> None:
    # A key store from before the log existed: what the database already shows as revoked
    # is noted at the next open, so a still older backup cannot undo it.
    resident = store.add_subject(SITE_CODE, "Wang Wu", SubjectKind.RESIDENT, actor=OPERATOR)
    card = store.credentials.issue_card(resident.id, CARD, OPERATOR)
    store.credentials.revoke(card.id, OPERATOR)
    store.retention.record_move_out(resident.id, utcnow() + timedelta(days=3), actor=OPERATOR)
    store.close()
    with closing(sqlite3.connect(settings.resolved_keystore_path)) as keys:
        keys.execute("DELETE FROM revocation_log")
        keys.commit()
    with Store.open(settings) as reopened:
        logged = {(e.kind, e.target_id) for e in reopened.keystore.revocations()}
    assert logged == {(RevokedKind.CREDENTIAL, card.id), (RevokedKind.MOVE_OUT, resident.id)}


def test_key_store_schema_matches_its_migrations(store: Store, settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{settings.resolved_keystore_path.resolve()}")
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": "keystore_version"}
            )
            diff = [
                change
                for change in compare_metadata(context, KeyBase.metadata)
                if not (change[0] == "remove_table" and change[1].name == "keystore_version")
            ]
    finally:
        engine.dispose()
    assert diff == []
