"""Who may use the web service: administrators, resident sessions, gate devices.

- Staff (site administrators, front desk operators, auditors: ``Role``) sign in with a
  password (argon2id). A failed sign-in costs the same time and gets the same refusal
  whether or not the account exists; an account locks for ``ADMIN_LOCKOUT`` after
  ``MAX_ADMIN_FAILURES`` failures in a row. While it is locked every attempt is refused
  with reason ``locked`` and the lock's end (``until``), whatever the password: telling
  only a correct password that the account is locked would let a guesser go on guessing
  through the lock-out. A stranger learns that a username exists only after locking it,
  which takes ``MAX_ADMIN_FAILURES`` audited failures (and the per-address rate limit).
- Residents sign in to self-service with a one-time code the front desk hands them (kept
  as a keyed hash, single use, short-lived); no password and no phone number is stored.
- Sessions are random bearer tokens; only their SHA-256 is stored, with an expiry. A
  session ends with what it stood on: deleting the subject, their move-out or a new admin
  password ends it in the same transaction (``end_sessions``), and ``session`` refuses a
  resident who may no longer enter or an admin account that is gone.
- A gate device holds one random API key (SHA-256 stored) and may ask decisions only for
  the gates it was registered for.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from facegate.errors import (
    AlreadyExistsError,
    AuthenticationError,
    InvalidRecordError,
    NotFoundError,
    PolicyError,
)
from facegate.privacy.secrets import SecretHasher, check_otp_code, new_otp_code
from facegate.store.audit import AuditAction
from facegate.store.checks import check_id, check_text
from facegate.store.keystore import Revoked
from facegate.store.keystore_schema import RevokedKind
from facegate.store.module import StoreModule
from facegate.store.operator_scope import SITE_SESSION_ROLE, may_administer
from facegate.store.queries import active_subject, may_enter, site_by_code
from facegate.store.schema import (
    ACTOR_LENGTH,
    NAME_LENGTH,
    AdminAccount,
    Gate,
    GateDevice,
    GateDeviceGate,
    SigninCode,
    Site,
    Subject,
    WebSession,
    new_id,
    utcnow,
)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MAX_ADMIN_FAILURES = 5
ADMIN_LOCKOUT = timedelta(minutes=15)
ADMIN_SESSION_TTL = timedelta(hours=8)
RESIDENT_SESSION_TTL = timedelta(minutes=30)
SIGNIN_CODE_TTL = timedelta(minutes=15)
#: 32 random bytes: guessing a token or a device key is out of reach.
TOKEN_BYTES = 32
_SIGNIN_KIND = "signin-code"
#: The ``reason`` of a sign-in refused because the account is locked.
LOCKED = "locked"

#: Admin passwords; the same argon2id parameters as PINs.
PASSWORD_HASHER = SecretHasher()


class Role(StrEnum):
    """Who a session belongs to. Staff roles, least privilege first:

    - ``auditor``: reads the audit log, compliance report and decisions; changes nothing;
    - ``operator`` (front desk): registers residents, records consent, issues credentials
      and enrolls faces; no deletion, no settings;
    - ``admin`` (site administrator): everything on their site, including deletion,
      settings and staff accounts.
    """

    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    RESIDENT = "resident"


@dataclass(frozen=True, slots=True)
class AdminInfo:
    """A staff account (never its password hash)."""

    id: str
    site_id: str
    site_code: str
    username: str
    role: Role = Role.ADMIN


@dataclass(frozen=True, slots=True)
class SessionInfo:
    role: Role
    #: The admin account id, or the resident's subject id.
    principal_id: str
    site_id: str
    site_code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session; ``token`` is shown once and never stored."""

    token: str
    info: SessionInfo

    def __repr__(self) -> str:
        return f"OpenedSession(token=<redacted>, info={self.info!r})"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    site_id: str
    site_code: str
    name: str
    gate_codes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    """A new device; ``api_key`` is shown once and never stored."""

    info: DeviceInfo
    api_key: str

    def __repr__(self) -> str:
        return f"RegisteredDevice(info={self.info!r}, api_key=<redacted>)"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Accounts(StoreModule):
    """Administrators, sessions and resident sign-in codes."""

    def create_admin(
        self,
        site_code: str,
        username: str,
        password: str,
        *,
        actor: str,
        role: Role = Role.ADMIN,
    ) -> AdminInfo:
        """A staff account of ``site_code`` (a site administrator unless ``role`` says)."""
        username = check_text(username, "username", ACTOR_LENGTH)
        role = staff_role(role)
        check_password(password)
        password_hash = PASSWORD_HASHER.hash(password)
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            if session.scalar(select(AdminAccount.id).where(AdminAccount.username == username)):
                raise AlreadyExistsError(
                    f"an administrator {username!r} already exists", reason="username_taken"
                )
            account = AdminAccount(
                id=new_id(),
                site_id=site.id,
                username=username,
                password_hash=password_hash,
                created_at=utcnow(),
                failed_attempts=0,
                role=role.value,
            )
            session.add(account)
            self._store.audit(
                session,
                actor,
                AuditAction.ADMIN_CREATED,
                site_id=site.id,
                detail={"admin_id": account.id, "role": role.value},
            )
            return AdminInfo(account.id, site.id, site.code, username, role)

    def set_admin_password(
        self, username: str, password: str, *, actor: str, site_code: str | None = None
    ) -> AdminInfo:
        """Replace a staff member's password, lift a lock-out and end their sessions.

        With ``site_code``, an account of another site is not found (the CLI and the staff
        page name the site). The new hash goes to the key store's revocation log before
        the commit, so a restored backup brings back this password and not the one it
        replaced.
        """
        check_password(password)
        password_hash = PASSWORD_HASHER.hash(password)
        with self._store.transaction() as session:
            row = session.scalar(select(AdminAccount).where(AdminAccount.username == username))
            if (
                row is not None
                and site_code is not None
                and site_by_code(session, site_code).id != row.site_id
            ):
                row = None
            if row is None:
                raise NotFoundError(f"no staff account {username!r}")
            now = utcnow()
            row.password_hash = password_hash
            row.failed_attempts = 0
            row.locked_until = None
            # Whoever signed in with the old password (perhaps the one it leaked to) is out.
            ended = end_sessions(session, principal_id=row.id)
            self._store.audit(
                session,
                actor,
                AuditAction.ADMIN_CREATED,
                site_id=row.site_id,
                detail={"admin_id": row.id, "password_reset": True, "sessions_ended": ended},
            )
            self._store.keystore.log_revocations(
                [
                    Revoked(
                        row.id,
                        RevokedKind.ADMIN_PASSWORD,
                        row.site_id,
                        "replaced",
                        now,
                        password_hash=password_hash,
                    )
                ]
            )
            site = session.get_one(Site, row.site_id)
            return _admin_info(row, site)

    def admin_exists(self, username: str) -> bool:
        with self._store.reading() as session:
            found = session.scalar(select(AdminAccount.id).where(AdminAccount.username == username))
            return found is not None

    def sign_in_admin(self, username: str, password: str) -> OpenedSession:
        """A new staff session with the account's role, or ``AuthenticationError``: the
        same for an unknown username, a wrong password and a disabled account; reason
        ``locked`` with ``until`` while the account is locked (see the module docstring)."""
        refused = AuthenticationError(
            "wrong username or password, or the account is locked", reason="sign_in_failed"
        )
        if not isinstance(username, str) or not isinstance(password, str):
            raise refused
        if len(password) > MAX_PASSWORD_LENGTH or len(username) > ACTOR_LENGTH:
            PASSWORD_HASHER.burn("x")
            raise refused
        with self._store.reading() as session:
            account = session.scalar(
                select(AdminAccount).where(AdminAccount.username == username.strip())
            )
        now = utcnow()
        if account is None:
            PASSWORD_HASHER.burn(password)
            raise refused
        locked = account.locked_until is not None and account.locked_until > now
        matches = PASSWORD_HASHER.verify(account.password_hash, password)
        with self._store.transaction() as session:
            row = session.get_one(AdminAccount, account.id)
            if locked or not matches or row.disabled_at is not None:
                if not locked:
                    row.failed_attempts += 1
                    if row.failed_attempts >= MAX_ADMIN_FAILURES:
                        row.locked_until = now + ADMIN_LOCKOUT
                        row.failed_attempts = 0
                self._store.audit(
                    session,
                    f"{row.role}:{row.id}",
                    AuditAction.SIGNIN_FAILED,
                    site_id=row.site_id,
                    detail={"role": row.role, "locked": locked},
                )
                failed = True
            else:
                row.failed_attempts = 0
                row.locked_until = None
                failed = False
            role = Role(row.role)
            disabled = row.disabled_at is not None
        if failed and locked and not disabled and account.locked_until is not None:
            raise AuthenticationError(
                "this account is locked after too many failed sign-ins",
                reason=LOCKED,
                until=account.locked_until,
            )
        if failed:
            raise refused
        return self._open(role, account.id, account.site_id, ADMIN_SESSION_TTL)

    def admin(self, admin_id: str) -> AdminInfo:
        with self._store.reading() as session:
            row = session.get(AdminAccount, admin_id)
            if row is None:
                raise NotFoundError("no such administrator")
            site = session.get_one(Site, row.site_id)
            return _admin_info(row, site)

    def issue_signin_code(
        self, subject_id: str, *, actor: str, ttl: timedelta = SIGNIN_CODE_TTL
    ) -> str:
        """A one-time self-service sign-in code for a resident, returned once."""
        check_id(subject_id, "subject id")
        code = new_otp_code()
        now = utcnow()
        with self._store.transaction() as session:
            subject = active_subject(session, subject_id)
            if not may_enter(subject, now):
                raise PolicyError(
                    "this subject has moved out or their stay has ended", reason="moved_out"
                )
            session.add(
                SigninCode(
                    lookup_hash=self._code_hash(subject.site_id, code),
                    subject_id=subject.id,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
            self._store.audit(
                session,
                actor,
                AuditAction.SIGNIN_CODE_ISSUED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={"ttl_s": int(ttl.total_seconds())},
            )
        return code

    def sign_in_resident(self, site_code: str, code: str) -> OpenedSession:
        """Spend a sign-in code; a used, expired or unknown code is refused alike."""
        subject_id, site_id = self._spend_signin_code(site_code, code, via=None)
        return self._open(Role.RESIDENT, subject_id, site_id, RESIDENT_SESSION_TTL)

    def redeem_signin_code(self, site_code: str, code: str, *, device_id: str) -> str:
        """Spend a sign-in code at a gate kiosk without opening a session; the subject id.

        The resident shows the code at the kiosk to enroll their face there. Audited as a
        resident sign-in ``via`` the device; refused alike when used, expired or unknown.
        """
        subject_id, _ = self._spend_signin_code(site_code, code, via=f"device:{device_id}")
        return subject_id

    def _spend_signin_code(self, site_code: str, code: str, *, via: str | None) -> tuple[str, str]:
        """Mark the code used; (subject id, site id), or ``AuthenticationError``."""
        refused = AuthenticationError(
            "this sign-in code is not valid (wrong, used or expired)", reason="signin_code_invalid"
        )
        try:
            code = check_otp_code(code)
        except InvalidRecordError:
            raise refused from None
        now = utcnow()
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            digest = self._code_hash(site.id, code)
            spent = session.execute(
                update(SigninCode)
                .where(
                    SigninCode.lookup_hash == digest,
                    SigninCode.used_at.is_(None),
                    SigninCode.expires_at > now,
                )
                .values(used_at=now)
                .returning(SigninCode.subject_id)
            ).scalar_one_or_none()
            subject = None if spent is None else session.get(Subject, spent)
            detail: dict[str, str | None] = {"role": Role.RESIDENT.value}
            if via is not None:
                detail["via"] = via
            if subject is None or not may_enter(subject, now):
                self._store.audit(
                    session, "resident", AuditAction.SIGNIN_FAILED, site_id=site.id, detail=detail
                )
                failed = True
            else:
                if via is not None:
                    self._store.audit(
                        session,
                        f"{Role.RESIDENT.value}:{subject.id}",
                        AuditAction.SIGNED_IN,
                        site_id=site.id,
                        subject_id=subject.id,
                        detail=detail,
                    )
                failed = False
            site_id = site.id
        if failed or subject is None:
            raise refused
        return subject.id, site_id

    def session(self, token: str) -> SessionInfo:
        """The live session of ``token``, or ``AuthenticationError``."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            raise AuthenticationError("not signed in", reason="not_signed_in")
        now = utcnow()
        with self._store.reading() as session:
            row = session.get(WebSession, token_digest(token))
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise AuthenticationError(
                    "not signed in, or the session has expired", reason="session_expired"
                )
            if not _principal_current(session, row, now):
                # Defence in depth: the change that ends a session also ends its row.
                raise AuthenticationError(
                    "not signed in, or the session has ended", reason="session_ended"
                )
            site = session.get_one(Site, row.site_id)
            return SessionInfo(
                Role(row.role), row.principal_id, row.site_id, site.code, row.expires_at
            )

    def sign_out(self, token: str) -> None:
        """End a session; an unknown token is a no-op."""
        with self._store.transaction() as session:
            row = session.get(WebSession, token_digest(token))
            if row is None or row.revoked_at is not None:
                return
            row.revoked_at = utcnow()
            self._store.audit(
                session,
                f"{row.role}:{row.principal_id}",
                AuditAction.SIGNED_OUT,
                site_id=row.site_id,
                detail={"role": row.role},
            )

    def _open(self, role: Role, principal_id: str, site_id: str, ttl: timedelta) -> OpenedSession:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        with self._store.transaction() as session:
            session.add(
                WebSession(
                    token_sha256=token_digest(token),
                    role=role.value,
                    principal_id=principal_id,
                    site_id=site_id,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
            self._store.audit(
                session,
                f"{role.value}:{principal_id}",
                AuditAction.SIGNED_IN,
                site_id=site_id,
                subject_id=principal_id if role is Role.RESIDENT else None,
                detail={"role": role.value},
            )
            site = session.get_one(Site, site_id)
            info = SessionInfo(role, principal_id, site_id, site.code, now + ttl)
        return OpenedSession(token=token, info=info)

    def _code_hash(self, site_id: str, code: str) -> str:
        return self._store.site_key.lookup_hash(_SIGNIN_KIND, code, scope=site_id)


class Devices(StoreModule):
    """Gate devices and their API keys."""

    def register(
        self, site_code: str, name: str, gate_codes: list[str], *, actor: str
    ) -> RegisteredDevice:
        name = check_text(name, "device name", NAME_LENGTH)
        if not gate_codes:
            raise InvalidRecordError(
                "a device serves at least one gate", reason="device_needs_gate"
            )
        api_key = secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        with self._store.transaction() as session:
            site = site_by_code(session, site_code)
            gates = []
            for code in dict.fromkeys(gate_codes):
                gate = session.scalar(
                    select(Gate).where(Gate.site_id == site.id, Gate.code == code)
                )
                if gate is None:
                    raise NotFoundError(f"site {site.code!r} has no gate {code!r}")
                gates.append(gate)
            device = GateDevice(
                id=new_id(),
                site_id=site.id,
                name=name,
                key_sha256=token_digest(api_key),
                created_at=now,
            )
            session.add(device)
            session.flush()
            for gate in gates:
                session.add(GateDeviceGate(device_id=device.id, gate_id=gate.id))
            self._store.audit(
                session,
                actor,
                AuditAction.DEVICE_REGISTERED,
                site_id=site.id,
                detail={"device_id": device.id, "gates": len(gates)},
            )
            info = DeviceInfo(
                device.id, site.id, site.code, name, tuple(g.code for g in gates), now, None
            )
        return RegisteredDevice(info=info, api_key=api_key)

    def authenticate(self, api_key: str) -> DeviceInfo:
        """The device holding ``api_key``; ``AuthenticationError`` if none or revoked."""
        if not isinstance(api_key, str) or not 20 <= len(api_key) <= 100:
            raise AuthenticationError("unknown or revoked device key", reason="device_key_invalid")
        with self._store.reading() as session:
            device = session.scalar(
                select(GateDevice).where(GateDevice.key_sha256 == token_digest(api_key))
            )
            if device is None or device.revoked_at is not None:
                raise AuthenticationError(
                    "unknown or revoked device key", reason="device_key_invalid"
                )
            return _device_info(session, device)

    def revoke(self, device_id: str, *, actor: str) -> DeviceInfo:
        check_id(device_id, "device id")
        with self._store.transaction() as session:
            device = session.get(GateDevice, device_id)
            if device is None:
                raise NotFoundError(f"no device {device_id}")
            if device.revoked_at is None:
                now = utcnow()
                device.revoked_at = now
                self._store.audit(
                    session,
                    actor,
                    AuditAction.DEVICE_REVOKED,
                    site_id=device.site_id,
                    detail={"device_id": device.id},
                )
                # Before the commit: a crash can leave an extra revocation, never lose one.
                self._store.keystore.log_revocations(
                    [
                        Revoked(
                            device.id,
                            RevokedKind.DEVICE,
                            device.site_id,
                            "revoked",
                            now,
                        )
                    ]
                )
            return _device_info(session, device)

    def list(self, site_code: str) -> list[DeviceInfo]:
        with self._store.reading() as session:
            site = site_by_code(session, site_code)
            devices = session.scalars(
                select(GateDevice)
                .where(GateDevice.site_id == site.id)
                .order_by(GateDevice.created_at)
            )
            return [_device_info(session, d) for d in devices]


def end_sessions(
    session: Session,
    *,
    role: Role | None = None,
    principal_id: str | None = None,
    keep: str | None = None,
) -> int:
    """End the live web sessions of one principal (everyone's when None), except the one
    whose token digest is ``keep`` (the session that made the change); returns how many.

    Now, by the clock: a retention run dated ahead must not skip sessions still live today.
    """
    now = utcnow()
    stmt = update(WebSession).where(WebSession.revoked_at.is_(None), WebSession.expires_at > now)
    if role is not None:
        stmt = stmt.where(WebSession.role == role.value)
    if principal_id is not None:
        stmt = stmt.where(WebSession.principal_id == principal_id)
    if keep is not None:
        stmt = stmt.where(WebSession.token_sha256 != keep)
    result = session.execute(stmt.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def spend_signin_codes(session: Session, *, subject_id: str | None = None) -> int:
    """Mark the unredeemed sign-in codes of one resident (everyone's when None) as used;
    returns how many."""
    now = utcnow()
    stmt = update(SigninCode).where(SigninCode.used_at.is_(None), SigninCode.expires_at > now)
    if subject_id is not None:
        stmt = stmt.where(SigninCode.subject_id == subject_id)
    result = session.execute(stmt.values(used_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def _principal_current(session: Session, row: WebSession, now: datetime) -> bool:
    """Whether the session's resident may still enter, or its admin account still stands."""
    if row.role == Role.RESIDENT.value:
        subject = session.get(Subject, row.principal_id)
        return subject is not None and subject.site_id == row.site_id and may_enter(subject, now)
    account = session.get(AdminAccount, row.principal_id)
    if account is None and row.role == SITE_SESSION_ROLE:
        # An operator account's administrator session at one of its organisation's sites.
        return may_administer(session, row.principal_id, row.site_id)
    return (
        account is not None
        and account.site_id == row.site_id
        and account.disabled_at is None
        # A role change ends the sessions too; this is the defence in depth.
        and account.role == row.role
    )


def _device_info(session: Session, device: GateDevice) -> DeviceInfo:
    site = session.get_one(Site, device.site_id)
    codes = session.scalars(
        select(Gate.code)
        .join(GateDeviceGate, GateDeviceGate.gate_id == Gate.id)
        .where(GateDeviceGate.device_id == device.id)
        .order_by(Gate.code)
    )
    return DeviceInfo(
        device.id,
        device.site_id,
        site.code,
        device.name,
        tuple(codes),
        device.created_at,
        device.revoked_at,
    )


def _admin_info(row: AdminAccount, site: Site) -> AdminInfo:
    return AdminInfo(row.id, row.site_id, site.code, row.username, Role(row.role))


def staff_role(role: Role | str) -> Role:
    """``role`` as a staff role; ``InvalidRecordError`` for the resident or an unknown one."""
    try:
        parsed = Role(role)
    except ValueError:
        raise InvalidRecordError(f"unknown staff role {role!r}", reason="unknown_role") from None
    if parsed is Role.RESIDENT:
        raise InvalidRecordError("a resident is not a staff role", reason="unknown_role")
    return parsed


def check_password(password: str) -> None:
    """The password policy: 12 to 256 characters, not too repetitive."""
    if not isinstance(password, str):
        raise InvalidRecordError("a password is text", reason="password_format")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRecordError(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            reason="password_length",
        )
    if len(set(password)) < MIN_PASSWORD_LENGTH // 3:
        raise InvalidRecordError("this password is too repetitive", reason="password_repetitive")
