"""Administrators, sessions, resident sign-in codes and gate devices."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from facegate.errors import AlreadyExistsError, AuthenticationError, InvalidRecordError
from facegate.store import SiteInfo, Store, SubjectKind
from facegate.store.accounts import MAX_ADMIN_FAILURES, Role

from .helpers import OPERATOR

PASSWORD = "correct horse battery staple"


def test_admin_signs_in_and_the_session_expires(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    store.accounts.create_admin(site.code, "li@sunny", PASSWORD, actor=OPERATOR)
    opened = store.accounts.sign_in_admin("li@sunny", PASSWORD)
    info = store.accounts.session(opened.token)
    assert (info.role, info.site_code) == (Role.ADMIN, site.code)
    assert opened.token not in repr(opened)
    # Only the token's hash is stored.
    dump = "\n".join(raw_db.iterdump())
    assert opened.token not in dump
    raw_db.execute("UPDATE web_session SET expires_at = '2000-01-01 00:00:00.000000'")
    with pytest.raises(AuthenticationError, match="expired"):
        store.accounts.session(opened.token)


def test_sign_out_ends_the_session(store: Store, site: SiteInfo) -> None:
    store.accounts.create_admin(site.code, "li@sunny", PASSWORD, actor=OPERATOR)
    opened = store.accounts.sign_in_admin("li@sunny", PASSWORD)
    store.accounts.sign_out(opened.token)
    store.accounts.sign_out(opened.token)  # a no-op
    with pytest.raises(AuthenticationError):
        store.accounts.session(opened.token)


def test_unknown_user_and_wrong_password_are_refused_alike_and_lock_out(
    store: Store, site: SiteInfo
) -> None:
    store.accounts.create_admin(site.code, "li@sunny", PASSWORD, actor=OPERATOR)
    messages = set()
    for username in ("nobody", "li@sunny"):
        with pytest.raises(AuthenticationError) as caught:
            store.accounts.sign_in_admin(username, "wrong password!!")
        messages.add(str(caught.value))
    assert len(messages) == 1
    for _ in range(MAX_ADMIN_FAILURES - 1):
        with pytest.raises(AuthenticationError):
            store.accounts.sign_in_admin("li@sunny", "wrong password!!")
    # Locked: even the right password is refused now.
    with pytest.raises(AuthenticationError):
        store.accounts.sign_in_admin("li@sunny", PASSWORD)
    store.accounts.set_admin_password("li@sunny", PASSWORD + "!", actor=OPERATOR)
    store.accounts.sign_in_admin("li@sunny", PASSWORD + "!")


@pytest.mark.parametrize(
    ("password", "message"), [("short", "12 to 256"), ("aaaaaaaaaaaaaaaa", "repetitive")]
)
def test_weak_admin_password_is_refused(
    store: Store, site: SiteInfo, password: str, message: str
) -> None:
    with pytest.raises(InvalidRecordError, match=message):
        store.accounts.create_admin(site.code, "li@sunny", password, actor=OPERATOR)
    store.accounts.create_admin(site.code, "li@sunny", PASSWORD, actor=OPERATOR)
    with pytest.raises(AlreadyExistsError):
        store.accounts.create_admin(site.code, "li@sunny", PASSWORD, actor=OPERATOR)


def test_resident_sign_in_code_is_single_use_and_short_lived(store: Store, site: SiteInfo) -> None:
    subject = store.add_subject(site.code, "Zhang San", SubjectKind.RESIDENT, actor=OPERATOR)
    code = store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    opened = store.accounts.sign_in_resident(site.code, code)
    assert (opened.info.role, opened.info.principal_id) == (Role.RESIDENT, subject.id)
    with pytest.raises(AuthenticationError, match="not valid"):
        store.accounts.sign_in_resident(site.code, code)
    stale = store.accounts.issue_signin_code(subject.id, actor=OPERATOR, ttl=timedelta(0))
    with pytest.raises(AuthenticationError, match="not valid"):
        store.accounts.sign_in_resident(site.code, stale)
    with pytest.raises(AuthenticationError):
        store.accounts.sign_in_resident(site.code, "not a code")


def test_device_key_is_scoped_stored_hashed_and_revocable(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    store.gates.configure(
        site.code, "north", "North gate",
        accepts_face=True, accepts_card=True, accepts_pin=False, accepts_otp=False,
        actor=OPERATOR,
    )  # fmt: skip
    device = store.devices.register(site.code, "Kiosk", ["north"], actor=OPERATOR)
    assert device.api_key not in repr(device)
    assert device.api_key not in "\n".join(raw_db.iterdump())
    info = store.devices.authenticate(device.api_key)
    assert (info.site_code, info.gate_codes) == (site.code, ("north",))
    store.devices.revoke(info.id, actor=OPERATOR)
    with pytest.raises(AuthenticationError):
        store.devices.authenticate(device.api_key)


@pytest.mark.rule("R-23")
def test_r23_deleting_a_subject_ends_their_session_rows_and_removes_their_codes(
    store: Store, site: SiteInfo, raw_db: sqlite3.Connection
) -> None:
    # The rows themselves, not only the session check: nothing is left to revive.
    subject = store.add_subject(site.code, "Zhang San", SubjectKind.RESIDENT, actor=OPERATOR)
    opened = store.accounts.sign_in_resident(
        site.code, store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    )
    store.accounts.issue_signin_code(subject.id, actor=OPERATOR)
    store.delete_subject(subject.id, "request", OPERATOR)
    ended = raw_db.execute("SELECT revoked_at IS NOT NULL FROM web_session").fetchall()
    assert ended == [(1,)]
    assert raw_db.execute("SELECT count(*) FROM signin_code").fetchone() == (0,)
    with pytest.raises(AuthenticationError):
        store.accounts.session(opened.token)
