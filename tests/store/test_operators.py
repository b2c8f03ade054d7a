"""Operator accounts: a property company over many sites (``store.operator_accounts``).

Two sites run by one company (``EAST``, ``WEST``) and one by another (``MOON``). The
company's account sees and counts its own two only, opens an administrator's session at
one of them only, and everything it does at a site is in that site's audit log. The R-31
count it sees is the filing alert's: the company's total over all its sites, alerted once.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from facegate.errors import AlreadyExistsError, AuthenticationError, NotFoundError
from facegate.store import Store
from facegate.store import filing as filing_module
from facegate.store.accounts import MAX_ADMIN_FAILURES, Role
from facegate.store.audit import AuditAction
from facegate.store.operator_accounts import ACTOR_PREFIX, OperatorAccountInfo
from facegate.store.queries import site_by_code
from facegate.store.schema import AuditEvent, OperatorAccount, utcnow

from .helpers import MODEL, OPERATOR, consented_subject, random_embeddings, ready_site

COMPANY = "Sunny Property Co."
OTHER_COMPANY = "Moon Estates Ltd."
EAST, WEST, MOON = "sunny-east", "sunny-west", "moon-court"
PASSWORD = "a long operator passphrase"
USERNAME = "ops@sunny"


@pytest.fixture
def sites(store: Store) -> None:
    for code, company in ((EAST, COMPANY), (WEST, COMPANY), (MOON, OTHER_COMPANY)):
        ready_site(store, code, code.replace("-", " ").title())
        store.operator_accounts.assign_site(code, company, actor=OPERATOR)


@pytest.fixture
def account(store: Store, sites: None) -> OperatorAccountInfo:
    return store.operator_accounts.create(COMPANY, USERNAME, PASSWORD, actor=OPERATOR)


def _enroll(store: Store, site: str, people: int, seed: int = 0) -> None:
    for n in range(people):
        subject = consented_subject(store, site_code=site, name=f"Person {seed}-{n}")
        store.enroll(subject.id, random_embeddings(2, seed * 100 + n), MODEL, [0.9, 0.9], OPERATOR)


def _events(store: Store, action: AuditAction, site: str | None = None) -> list[AuditEvent]:
    with store.reading() as session:
        query = select(AuditEvent).where(AuditEvent.action == action.value)
        if site is not None:
            query = query.where(AuditEvent.site_id == site_by_code(session, site).id)
        return list(session.scalars(query))


def test_an_account_is_made_once_and_announced_at_each_of_its_sites(
    store: Store, account: OperatorAccountInfo
) -> None:
    assert (account.organisation, account.username) == (COMPANY, USERNAME)
    with pytest.raises(AlreadyExistsError):
        store.operator_accounts.create(OTHER_COMPANY, USERNAME, PASSWORD, actor=OPERATOR)
    for site, count in ((EAST, 1), (WEST, 1), (MOON, 0)):
        assert len(_events(store, AuditAction.OPERATOR_ACCOUNT_CREATED, site)) == count, site
    assert [a.username for a in store.operator_accounts.accounts(COMPANY)] == [USERNAME]
    assert store.operator_accounts.accounts(OTHER_COMPANY) == []


def test_sign_in_session_and_sign_out(store: Store, account: OperatorAccountInfo) -> None:
    opened = store.operator_accounts.sign_in(USERNAME, PASSWORD)
    assert "redacted" in repr(opened)
    assert opened.token not in repr(opened)
    info = store.operator_accounts.session(opened.token)
    assert (info.account_id, info.organisation) == (account.id, COMPANY)
    # Not a staff session: the site routes' check does not know it.
    with pytest.raises(AuthenticationError):
        store.accounts.session(opened.token)
    store.operator_accounts.sign_out(opened.token)
    with pytest.raises(AuthenticationError):
        store.operator_accounts.session(opened.token)
    assert not store.operator_accounts.is_session(opened.token)


def test_wrong_and_unknown_are_refused_alike_and_failures_lock(
    store: Store, account: OperatorAccountInfo
) -> None:
    reasons = set()
    for username in (USERNAME, "nobody@sunny"):
        with pytest.raises(AuthenticationError) as refused:
            store.operator_accounts.sign_in(username, "wrong password here")
        reasons.add(refused.value.reason)
    assert reasons == {"sign_in_failed"}
    for _ in range(MAX_ADMIN_FAILURES - 1):
        with pytest.raises(AuthenticationError):
            store.operator_accounts.sign_in(USERNAME, "wrong password here")
    with pytest.raises(AuthenticationError) as locked:
        store.operator_accounts.sign_in(USERNAME, PASSWORD)
    assert locked.value.reason == "locked"
    failures = _events(store, AuditAction.SIGNIN_FAILED)
    assert {e.actor for e in failures} == {f"{ACTOR_PREFIX}:{account.id}"}
    assert {e.site_id for e in failures} == {None}


def test_the_overview_counts_its_own_sites_only_and_is_audited_there(
    store: Store, account: OperatorAccountInfo
) -> None:
    _enroll(store, EAST, 2, seed=1)
    _enroll(store, WEST, 1, seed=2)
    _enroll(store, MOON, 3, seed=3)
    overview = store.operator_accounts.overview(account.id)
    assert overview.organisation == COMPANY
    assert [(s.code, s.enrolled_people) for s in overview.sites] == [(EAST, 2), (WEST, 1)]
    # The filing alert's own count, and the sites add up to it.
    assert overview.enrolled_people == store.filing.operator_status(COMPANY).enrolled_people == 3
    for site, count in ((EAST, 1), (WEST, 1), (MOON, 0)):
        viewed = _events(store, AuditAction.OPERATOR_SITES_VIEWED, site)
        assert len(viewed) == count, site
        assert all(e.actor == f"{ACTOR_PREFIX}:{account.id}" for e in viewed)


def test_a_site_session_is_an_admin_session_of_its_own_sites_only(
    store: Store, account: OperatorAccountInfo
) -> None:
    opened = store.operator_accounts.open_site_session(account.id, EAST)
    info = store.accounts.session(opened.token)
    assert (info.role, info.site_code, info.principal_id) == (Role.ADMIN, EAST, account.id)
    opened_events = _events(store, AuditAction.OPERATOR_SITE_SESSION, EAST)
    assert [e.actor for e in opened_events] == [f"{ACTOR_PREFIX}:{account.id}"]
    for foreign in (MOON, "no-such-site"):
        with pytest.raises(NotFoundError) as missing:
            store.operator_accounts.open_site_session(account.id, foreign)
        # The same words for another company's site and an unknown code.
        assert "run by this organisation" in str(missing.value)
    assert _events(store, AuditAction.OPERATOR_SITE_SESSION, MOON) == []


def test_a_site_session_ends_no_later_than_its_operator_session(
    store: Store, account: OperatorAccountInfo
) -> None:
    soon = utcnow() + timedelta(minutes=5)
    opened = store.operator_accounts.open_site_session(account.id, WEST, not_after=soon)
    assert opened.info.expires_at == soon


def test_a_site_moved_to_another_company_ends_the_site_session(
    store: Store, account: OperatorAccountInfo
) -> None:
    opened = store.operator_accounts.open_site_session(account.id, WEST)
    previous = store.operator_accounts.assign_site(WEST, OTHER_COMPANY, actor=OPERATOR)
    assert previous == COMPANY
    with pytest.raises(AuthenticationError):
        store.accounts.session(opened.token)
    changed = _events(store, AuditAction.SITE_OPERATOR_CHANGED, WEST)
    assert changed[-1].detail.count('"sessions_ended":1') == 1
    with pytest.raises(NotFoundError):
        store.operator_accounts.open_site_session(account.id, WEST)


def test_a_disabled_account_loses_its_sessions(store: Store, account: OperatorAccountInfo) -> None:
    own = store.operator_accounts.sign_in(USERNAME, PASSWORD)
    site = store.operator_accounts.open_site_session(account.id, EAST)
    with store.transaction() as session:
        session.execute(
            update(OperatorAccount)
            .where(OperatorAccount.id == account.id)
            .values(disabled_at=utcnow())
        )
    with pytest.raises(AuthenticationError):
        store.operator_accounts.session(own.token)
    with pytest.raises(AuthenticationError):
        store.accounts.session(site.token)


@pytest.mark.rule("R-31")
def test_the_filing_count_is_the_companys_total_over_its_sites_alerted_once(
    store: Store, account: OperatorAccountInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A threshold of 3 stands in for 100,000 (test_filing builds the real one).
    monkeypatch.setattr(filing_module, "FILING_THRESHOLD", 3)
    _enroll(store, EAST, 2, seed=1)
    _enroll(store, MOON, 2, seed=2)  # another company's people do not count
    assert store.filing.operator_status(COMPANY).filing_due is False
    _enroll(store, WEST, 1, seed=3)  # the third person, at the company's other site
    status = store.filing.operator_status(COMPANY)
    assert (status.enrolled_people, status.filing_due) == (3, True)
    assert store.filing.operator_status(OTHER_COMPANY).filing_due is False
    _enroll(store, EAST, 1, seed=4)  # past the threshold: no second alert
    alerts = _events(store, AuditAction.FILING_DUE)
    assert len(alerts) == 1
    assert COMPANY in alerts[0].detail
    overview = store.operator_accounts.overview(account.id)
    assert (overview.enrolled_people, overview.alert_raised_at) == (4, status.alert_raised_at)
    assert sum(s.enrolled_people for s in overview.sites) == 4


@pytest.mark.rule("R-31")
def test_a_site_put_under_a_company_counts_for_it_at_once(
    store: Store, account: OperatorAccountInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filing_module, "FILING_THRESHOLD", 3)
    _enroll(store, EAST, 1, seed=1)
    _enroll(store, MOON, 2, seed=2)
    assert store.filing.operator_status(COMPANY).filing_due is False
    store.operator_accounts.assign_site(MOON, COMPANY, actor=OPERATOR)
    status = store.filing.operator_status(COMPANY)
    assert (status.enrolled_people, status.filing_due) == (3, True)
    assert [s.code for s in store.operator_accounts.overview(account.id).sites] == [
        MOON,
        EAST,
        WEST,
    ]


def test_a_new_password_ends_every_session_and_is_audited_at_its_sites(
    store: Store, account: OperatorAccountInfo
) -> None:
    own = store.operator_accounts.sign_in(USERNAME, PASSWORD)
    site = store.operator_accounts.open_site_session(account.id, EAST)
    store.operator_accounts.set_password(USERNAME, "another long passphrase", actor=OPERATOR)
    assert not store.operator_accounts.is_session(own.token)
    with pytest.raises(AuthenticationError):
        store.accounts.session(site.token)
    with pytest.raises(AuthenticationError):
        store.operator_accounts.sign_in(USERNAME, PASSWORD)
    for code, count in ((EAST, 1), (WEST, 1), (MOON, 0)):
        changed = _events(store, AuditAction.OPERATOR_ACCOUNT_CHANGED, code)
        assert len(changed) == count, code
    [east] = _events(store, AuditAction.OPERATOR_ACCOUNT_CHANGED, EAST)
    assert '"sessions_ended":2' in east.detail  # its own session and the one at EAST
