"""Operator accounts: a property company that runs many sites (communities) from one
deployment, signed in once over all of them (issue 16).

Names. ``Site.operator`` already names the organisation that runs a site (R-31 counts
enrolled people per operator), and the staff role ``operator`` (``accounts.Role``) is a
site's front desk. So the company's sign-in is an *operator account* (table
``operator_account``, actor ``operator_account:<id>``), and what it is bound to is its
*organisation*, equal to ``Site.operator`` of the sites it runs. Nothing here is called
plain "operator", so it can never be read as the front-desk role.

What it may do, and no more:

- sign in with a password (argon2id, the staff accounts' policy, hasher and lock-out; a
  failed sign-in costs the same whether or not the account exists). Its session is a
  random bearer token whose SHA-256 is kept in ``operator_session``: unlike a
  ``web_session`` row it belongs to no site;
- list its organisation's sites with each site's enrolled people and the organisation's
  total, the very count the CAC filing alert uses (``filing.enrolled_people``, R-31);
- open a site administrator's session at one of those sites (``open_site_session``): an
  ordinary ``web_session`` row with the role ``admin`` whose principal is the operator
  account. Every site route then applies its own rules unchanged, and the session check
  (``operator_scope.may_administer``) ends it as soon as the account is disabled or the
  site is run by another organisation. It is the narrowest grant: one site per session,
  never a role that spans sites, so a site route can never be reached for another site.

Every action it takes on a site is in that site's audit log: reading the counts
(``operator_account.sites_viewed``), opening a session there
(``operator_account.site_session``, which also ties ``admin:<account id>``, the actor of
what the session then does, to the operator account), and what it does as administrator.
Its own sign-ins belong to no site (``site_id`` NULL in the one audit chain).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from facegate.errors import AlreadyExistsError, AuthenticationError, NotFoundError
from facegate.store.accounts import (
    ADMIN_LOCKOUT,
    ADMIN_SESSION_TTL,
    LOCKED,
    MAX_ADMIN_FAILURES,
    MAX_PASSWORD_LENGTH,
    PASSWORD_HASHER,
    TOKEN_BYTES,
    OpenedSession,
    Role,
    SessionInfo,
    check_password,
    end_sessions,
    token_digest,
)
from facegate.store.audit import AuditAction
from facegate.store.checks import check_text
from facegate.store.filing import FILING_THRESHOLD, check_threshold, enrolled_people
from facegate.store.module import StoreModule
from facegate.store.operator_scope import SITE_SESSION_ROLE
from facegate.store.queries import site_by_code
from facegate.store.schema import (
    ACTOR_LENGTH,
    NAME_LENGTH,
    FilingAlert,
    OperatorAccount,
    OperatorSession,
    Site,
    Subject,
    Template,
    WebSession,
    new_id,
    utcnow,
)

#: The audit actor of an operator account: ``operator_account:<id>``.
ACTOR_PREFIX = "operator_account"
#: An operator account's own session lasts as long as a staff member's.
OPERATOR_SESSION_TTL = ADMIN_SESSION_TTL
#: The reason of a sign-in refused as wrong (unknown account, password or disabled).
SIGN_IN_FAILED = "sign_in_failed"


@dataclass(frozen=True, slots=True)
class OperatorAccountInfo:
    """An operator account (never its password hash)."""

    id: str
    organisation: str
    username: str
    created_at: datetime
    disabled_at: datetime | None
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class OperatorSessionInfo:
    account_id: str
    organisation: str
    username: str
    expires_at: datetime

    @property
    def actor(self) -> str:
        return actor_of(self.account_id)


@dataclass(frozen=True, slots=True)
class OpenedOperatorSession:
    """A new operator session; ``token`` is shown once and never stored."""

    token: str
    info: OperatorSessionInfo

    def __repr__(self) -> str:
        return f"OpenedOperatorSession(token=<redacted>, info={self.info!r})"


@dataclass(frozen=True, slots=True)
class OperatorSite:
    """One site of the organisation and its people with face data (R-31's count)."""

    code: str
    name: str
    enrolled_people: int


@dataclass(frozen=True, slots=True)
class OperatorOverview:
    """The organisation's sites and its total against the CAC filing threshold (R-31)."""

    organisation: str
    sites: tuple[OperatorSite, ...]
    #: Distinct people with face data across all the sites: ``filing.enrolled_people``.
    enrolled_people: int
    threshold: int
    alert_raised_at: datetime | None
    due_by: date | None


def actor_of(account_id: str) -> str:
    return f"{ACTOR_PREFIX}:{account_id}"


class OperatorAccounts(StoreModule):
    """Operator accounts, their sessions, their sites and counts."""

    def create(
        self, organisation: str, username: str, password: str, *, actor: str
    ) -> OperatorAccountInfo:
        """A new account of ``organisation`` (``Site.operator`` of its sites; it may run
        none yet). Audited at each of the organisation's sites, so their staff see it."""
        organisation = check_text(organisation, "organisation", NAME_LENGTH)
        username = check_text(username, "username", ACTOR_LENGTH)
        check_password(password)
        password_hash = PASSWORD_HASHER.hash(password)
        with self._store.transaction() as session:
            taken = session.scalar(
                select(OperatorAccount.id).where(OperatorAccount.username == username)
            )
            if taken is not None:
                raise AlreadyExistsError(
                    f"an operator account {username!r} already exists", reason="username_taken"
                )
            account = OperatorAccount(
                id=new_id(),
                organisation=organisation,
                username=username,
                password_hash=password_hash,
                created_at=utcnow(),
                failed_attempts=0,
            )
            session.add(account)
            site_ids = _site_ids(session, organisation) or [None]
            for site_id in site_ids:
                self._store.audit(
                    session,
                    actor,
                    AuditAction.OPERATOR_ACCOUNT_CREATED,
                    site_id=site_id,
                    detail={"operator_account_id": account.id},
                )
            return _info(account)

    def set_password(self, username: str, password: str, *, actor: str) -> OperatorAccountInfo:
        """Replace the account's password, lift a lock-out and end its sessions (its own
        and those it opened at sites); audited at each of its organisation's sites."""
        check_password(password)
        password_hash = PASSWORD_HASHER.hash(password)
        with self._store.transaction() as session:
            row = _by_username(session, username)
            row.password_hash = password_hash
            row.failed_attempts = 0
            row.locked_until = None
            self._changed(session, row, actor, {"password_reset": True})
            return _info(row)

    def set_disabled(self, username: str, disabled: bool, *, actor: str) -> OperatorAccountInfo:
        """Disable (True) or enable (False) the account; disabling ends its sessions."""
        with self._store.transaction() as session:
            row = _by_username(session, username)
            if disabled == (row.disabled_at is not None):
                return _info(row)
            row.disabled_at = utcnow() if disabled else None
            self._changed(session, row, actor, {"disabled": disabled})
            return _info(row)

    def _changed(
        self, session: Session, row: OperatorAccount, actor: str, change: dict[str, bool]
    ) -> None:
        now = utcnow()
        own = session.execute(
            update(OperatorSession)
            .where(OperatorSession.account_id == row.id, OperatorSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        ended = int(getattr(own, "rowcount", 0) or 0) + end_sessions(session, principal_id=row.id)
        for site_id in _site_ids(session, row.organisation) or [None]:
            self._store.audit(
                session,
                actor,
                AuditAction.OPERATOR_ACCOUNT_CHANGED,
                site_id=site_id,
                detail={"operator_account_id": row.id, "sessions_ended": ended, **change},
            )

    def accounts(self, organisation: str | None = None) -> list[OperatorAccountInfo]:
        """Every operator account (of ``organisation`` only, when given)."""
        with self._store.reading() as session:
            query = select(OperatorAccount).order_by(
                OperatorAccount.organisation, OperatorAccount.username
            )
            if organisation is not None:
                query = query.where(OperatorAccount.organisation == organisation)
            return [_info(row) for row in session.scalars(query)]

    def sites(self, organisation: str) -> list[OperatorSite]:
        """The organisation's sites and their people, for the machine's own administrator
        (the CLI): not audited, unlike ``overview``."""
        with self._store.reading() as session:
            return [site for _, site in _sites(session, organisation)]

    def assign_site(self, site_code: str, organisation: str, *, actor: str) -> str:
        """Put ``site_code`` under ``organisation`` (``Site.operator``); its previous value.

        The previous organisation's operator accounts lose their sessions at the site, and
        the new organisation's count is checked against the filing threshold (R-31) in the
        same transaction: the site's people now count for it.
        """
        organisation = check_text(organisation, "organisation", NAME_LENGTH)
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            previous = site.operator
            if previous == organisation:
                return previous
            site.operator = organisation
            ended = session.execute(
                update(WebSession)
                .where(
                    WebSession.site_id == site.id,
                    WebSession.revoked_at.is_(None),
                    WebSession.principal_id.in_(
                        select(OperatorAccount.id).where(OperatorAccount.organisation == previous)
                    ),
                )
                .values(revoked_at=utcnow())
            )
            self._store.audit(
                session,
                actor,
                AuditAction.SITE_OPERATOR_CHANGED,
                site_id=site.id,
                detail={
                    "from": previous,
                    "to": organisation,
                    "sessions_ended": int(getattr(ended, "rowcount", 0) or 0),
                },
            )
            session.flush()
            check_threshold(session, self._store, site.id, actor)
            return previous

    def sign_in(self, username: str, password: str) -> OpenedOperatorSession:
        """A new session, or ``AuthenticationError``: the same for an unknown username, a
        wrong password and a disabled account; reason ``locked`` with ``until`` while the
        account is locked (as ``Accounts.sign_in_admin``, whose reasons it shares)."""
        refused = AuthenticationError(
            "wrong username or password, or the account is locked", reason=SIGN_IN_FAILED
        )
        if not isinstance(username, str) or not isinstance(password, str):
            raise refused
        if len(password) > MAX_PASSWORD_LENGTH or len(username) > ACTOR_LENGTH:
            PASSWORD_HASHER.burn("x")
            raise refused
        with self._store.reading() as session:
            account = session.scalar(
                select(OperatorAccount).where(OperatorAccount.username == username.strip())
            )
        now = utcnow()
        if account is None:
            PASSWORD_HASHER.burn(password)
            raise refused
        locked = account.locked_until is not None and account.locked_until > now
        matches = PASSWORD_HASHER.verify(account.password_hash, password)
        with self._store.transaction() as session:
            row = session.get_one(OperatorAccount, account.id)
            disabled = row.disabled_at is not None
            failed = locked or not matches or disabled
            if failed:
                if not locked:
                    row.failed_attempts += 1
                    if row.failed_attempts >= MAX_ADMIN_FAILURES:
                        row.locked_until = now + ADMIN_LOCKOUT
                        row.failed_attempts = 0
                self._store.audit(
                    session,
                    actor_of(row.id),
                    AuditAction.SIGNIN_FAILED,
                    detail={"role": ACTOR_PREFIX, "locked": locked},
                )
            else:
                row.failed_attempts = 0
                row.locked_until = None
                token = secrets.token_urlsafe(TOKEN_BYTES)
                session.add(
                    OperatorSession(
                        token_sha256=token_digest(token),
                        account_id=row.id,
                        created_at=now,
                        expires_at=now + OPERATOR_SESSION_TTL,
                    )
                )
                self._store.audit(
                    session,
                    actor_of(row.id),
                    AuditAction.SIGNED_IN,
                    detail={"role": ACTOR_PREFIX},
                )
                info = OperatorSessionInfo(
                    row.id, row.organisation, row.username, now + OPERATOR_SESSION_TTL
                )
        if failed and locked and not disabled and account.locked_until is not None:
            raise AuthenticationError(
                "this account is locked after too many failed sign-ins",
                reason=LOCKED,
                until=account.locked_until,
            )
        if failed:
            raise refused
        return OpenedOperatorSession(token=token, info=info)

    def session(self, token: str) -> OperatorSessionInfo:
        """The live operator session of ``token``, or ``AuthenticationError``."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            raise AuthenticationError("not signed in", reason="not_signed_in")
        now = utcnow()
        with self._store.reading() as session:
            row = session.get(OperatorSession, token_digest(token))
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise AuthenticationError(
                    "not signed in, or the session has expired", reason="session_expired"
                )
            account = session.get_one(OperatorAccount, row.account_id)
            if account.disabled_at is not None:
                raise AuthenticationError(
                    "not signed in, or the session has ended", reason="session_ended"
                )
            return OperatorSessionInfo(
                account.id, account.organisation, account.username, row.expires_at
            )

    def is_session(self, token: str) -> bool:
        """Whether ``token`` is a live operator session (to tell it from a stranger's)."""
        try:
            self.session(token)
        except AuthenticationError:
            return False
        return True

    def sign_out(self, token: str) -> None:
        """End an operator session; an unknown or ended one is a no-op."""
        with self._store.transaction() as session:
            row = session.get(OperatorSession, token_digest(token))
            if row is None or row.revoked_at is not None:
                return
            now = utcnow()
            row.revoked_at = now
            # The site sessions the account opened end with it: a signed-out company
            # leaves no administrator's cookie behind (every one of the account's, the
            # conservative side when it is signed in twice).
            session.execute(
                update(WebSession)
                .where(
                    WebSession.principal_id == row.account_id,
                    WebSession.role == SITE_SESSION_ROLE,
                    WebSession.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            self._store.audit(
                session,
                actor_of(row.account_id),
                AuditAction.SIGNED_OUT,
                detail={"role": ACTOR_PREFIX},
            )

    def overview(self, account_id: str) -> OperatorOverview:
        """The account's organisation: its sites with their people, and its total against
        the filing threshold; audited at each site (what the account read there)."""
        with self._store.transaction() as session:
            account = session.get_one(OperatorAccount, account_id)
            organisation = account.organisation
            rows = _sites(session, organisation)
            for site_id, _ in rows:
                self._store.audit(
                    session,
                    actor_of(account_id),
                    AuditAction.OPERATOR_SITES_VIEWED,
                    site_id=site_id,
                    detail={"sites": len(rows)},
                )
            alert = session.get(FilingAlert, organisation)
            return OperatorOverview(
                organisation=organisation,
                sites=tuple(site for _, site in rows),
                enrolled_people=enrolled_people(session, organisation),
                threshold=FILING_THRESHOLD,
                alert_raised_at=None if alert is None else alert.raised_at,
                due_by=None if alert is None else alert.due_by,
            )

    def open_site_session(
        self, account_id: str, site_code: str, *, not_after: datetime | None = None
    ) -> OpenedSession:
        """An administrator's session at ``site_code`` for the operator account, ending
        no later than ``not_after`` (the operator session it comes from) nor after
        ``ADMIN_SESSION_TTL``. A site of another organisation is not found, exactly like
        an unknown code. Audited at the site."""
        now = utcnow()
        expires_at = now + ADMIN_SESSION_TTL
        if not_after is not None:
            expires_at = min(expires_at, not_after)
        with self._store.transaction() as session:
            account = session.get_one(OperatorAccount, account_id)
            site = session.scalar(select(Site).where(Site.code == site_code))
            if site is None or site.operator != account.organisation:
                raise NotFoundError(f"no site {site_code!r} run by this organisation")
            token = secrets.token_urlsafe(TOKEN_BYTES)
            session.add(
                WebSession(
                    token_sha256=token_digest(token),
                    role=SITE_SESSION_ROLE,
                    principal_id=account.id,
                    site_id=site.id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            self._store.audit(
                session,
                actor_of(account.id),
                AuditAction.OPERATOR_SITE_SESSION,
                site_id=site.id,
                detail={"operator_account_id": account.id, "role": SITE_SESSION_ROLE},
            )
            info = SessionInfo(Role(SITE_SESSION_ROLE), account.id, site.id, site.code, expires_at)
        return OpenedSession(token=token, info=info)


def _sites(session: Session, organisation: str) -> list[tuple[str, OperatorSite]]:
    """(site id, site and its people) of each site ``organisation`` runs, by code."""
    rows = session.execute(
        # Distinct subjects with a template: ``filing.enrolled_people``'s count, per site.
        select(Site.id, Site.code, Site.name, func.count(func.distinct(Template.subject_id)))
        .select_from(Site)
        .outerjoin(Subject, Subject.site_id == Site.id)
        .outerjoin(Template, Template.subject_id == Subject.id)
        .where(Site.operator == organisation)
        .group_by(Site.id, Site.code, Site.name)
        .order_by(Site.code)
    )
    return [(row[0], OperatorSite(row[1], row[2], int(row[3]))) for row in rows]


def _site_ids(session: Session, organisation: str) -> list[str | None]:
    ids = session.scalars(select(Site.id).where(Site.operator == organisation).order_by(Site.code))
    return list(ids)


def _by_username(session: Session, username: str) -> OperatorAccount:
    named = OperatorAccount.username == username.strip()
    row = session.scalar(select(OperatorAccount).where(named))
    if row is None:
        raise NotFoundError(f"no operator account {username!r}")
    return row


def _info(row: OperatorAccount) -> OperatorAccountInfo:
    return OperatorAccountInfo(
        row.id, row.organisation, row.username, row.created_at, row.disabled_at, row.locked_until
    )
