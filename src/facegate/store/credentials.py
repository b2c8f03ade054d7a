"""Non-face credentials: card, PIN, one-time code (R-08, R-10, R-11).

Consent to face processing plays no part here: a subject who never consented, or withdrew,
opens the same gates with these (R-08). A credential needs nothing but the subject (R-12):
no ID-card number, no phone number (delivering a one-time code is the caller's business).

Nothing is stored in clear. A card number or one-time code is kept as a keyed hash
(``SiteKey.lookup_hash``, scoped to the site) so that a presented one can be found; a PIN as
an argon2id hash of its keyed hash (scoped to the subject), so that even a stolen database
cannot be searched for PINs without the site key.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from facegate.errors import AlreadyExistsError, InvalidRecordError, NotFoundError, PolicyError
from facegate.privacy.secrets import (
    PIN_HASHER,
    SecretHasher,
    check_otp_code,
    check_pin,
    check_pin_attempt,
    new_otp_code,
    normalize_card_number,
)
from facegate.store import backoff
from facegate.store.audit import AuditAction
from facegate.store.checks import check_id, check_text
from facegate.store.gates import gate_by_code
from facegate.store.keystore import Revoked
from facegate.store.keystore_schema import RevokedKind
from facegate.store.module import StoreModule
from facegate.store.queries import active_subject, may_enter
from facegate.store.records import (
    CredentialDecision,
    CredentialInfo,
    CredentialKind,
    CredentialReason,
    CredentialStatus,
    GateOutcome,
    IssuedOtp,
)
from facegate.store.schema import (
    HASH_LENGTH,
    RESIDENT_NUMBER_DIGITS,
    Credential,
    Gate,
    Subject,
    VisitorPass,
    new_id,
    utcnow,
)

if TYPE_CHECKING:
    from facegate.store.service import Store

DEFAULT_OTP_TTL = timedelta(minutes=10)
MIN_OTP_TTL = timedelta(minutes=1)
#: A one-time code is for a visit or a forgotten card, not a standing credential.
MAX_OTP_TTL = timedelta(hours=24)
DEVICE_LENGTH = 64
#: Unspent, unexpired one-time codes one person may hold: enough for a few visitors at
#: once; more would be a standing credential nobody tracks.
MAX_ACTIVE_OTPS = 5
#: New codes drawn when one collides with an earlier code's hash (chance ~1e-8 each).
_OTP_DRAWS = 5

#: What the gate does for each reason. A PIN pad that must wait, an expired code or a credential the
#: gate does not take still leave the person another way in.
OUTCOME_BY_REASON = {
    CredentialReason.OK: GateOutcome.OPEN,
    CredentialReason.UNKNOWN_CREDENTIAL: GateOutcome.DENY,
    CredentialReason.WRONG_PIN: GateOutcome.DENY,
    CredentialReason.USED: GateOutcome.DENY,
    CredentialReason.REVOKED: GateOutcome.DENY,
    CredentialReason.SUBJECT_INACTIVE: GateOutcome.DENY,
    CredentialReason.EXPIRED: GateOutcome.TRY_ANOTHER,
    CredentialReason.TOO_MANY_TRIES: GateOutcome.TRY_ANOTHER,
    CredentialReason.GATE_DOES_NOT_ACCEPT: GateOutcome.TRY_ANOTHER,
    CredentialReason.OUTSIDE_SCHEDULE: GateOutcome.DENY,
    CredentialReason.NOT_YET_VALID: GateOutcome.DENY,
    CredentialReason.NOT_FOR_THIS_GATE: GateOutcome.DENY,
}
#: Reasons the gate answers as an unknown code; the audit log keeps the real one. Telling
#: a guesser that a code is live but for another gate or a later hour would let them try
#: it there, or then (a pass can start up to a week ahead).
ANSWERED_AS = {
    CredentialReason.NOT_FOR_THIS_GATE: CredentialReason.UNKNOWN_CREDENTIAL,
    CredentialReason.NOT_YET_VALID: CredentialReason.UNKNOWN_CREDENTIAL,
}


@dataclass(frozen=True, slots=True)
class _PinAttempt:
    """A PIN checked before the write transaction (argon2 is slow; the write lock is shared)."""

    credential_id: str | None
    secret_hash: str | None
    matched: bool
    #: The typed number's and the device's back-off rows (``store.backoff``).
    sources: tuple[str, ...] = ()
    #: Set while one of them must wait: the PIN was not checked at all.
    blocked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Finding:
    reason: CredentialReason
    #: The subject the audit event names: the credential's owner, or the claimed subject
    #: when it exists at this site. Never returned to the gate unless it opens.
    subject_id: str | None = None
    credential_id: str | None = None
    #: The visitor pass the one-time code belongs to, if it is one (``store.passes``).
    visitor_pass: str | None = None


class Credentials(StoreModule):
    """Non-face credentials: card, PIN, one-time code (R-08, R-10, R-11)."""

    def __init__(self, store: Store, hasher: SecretHasher = PIN_HASHER) -> None:
        super().__init__(store)
        self._hasher = hasher

    # Issuing

    def issue_card(self, subject_id: str, card_number: str, actor: str) -> CredentialInfo:
        """Register a card for an active subject.

        ``AlreadyExistsError`` if the number is on another active card at this site. A
        revoked card's number may be issued again (cards are recycled); the old record keeps
        its history but no longer answers to the number.
        """
        check_id(subject_id, "subject id")
        number = normalize_card_number(card_number)
        with self._store.transaction() as session:
            subject = _holder(session, subject_id)
            lookup = self._store.site_key.lookup_hash(
                CredentialKind.CARD.value, number, scope=subject.site_id
            )
            previous = session.scalar(select(Credential).where(Credential.lookup_hash == lookup))
            if previous is not None:
                if previous.status is CredentialStatus.ACTIVE:
                    raise AlreadyExistsError(
                        f"this card number is already issued (credential {previous.id}); "
                        "revoke that credential first",
                        reason="card_taken",
                    )
                # A random value of the same shape: the row stays, the number is freed.
                previous.lookup_hash = secrets.token_hex(HASH_LENGTH // 2)
                session.flush()
            credential = _new_credential(subject, CredentialKind.CARD, lookup_hash=lookup)
            session.add(credential)
            detail: dict[str, str | None] = {"credential_id": credential.id, "kind": "card"}
            if previous is not None:
                detail["replaces"] = previous.id
            self._store.audit(
                session,
                actor,
                AuditAction.CREDENTIAL_ISSUED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail=detail,
            )
            return credential_info(credential)

    def set_pin(self, subject_id: str, pin: str, actor: str) -> CredentialInfo:
        """Set an active subject's PIN (6-12 digits, not trivial); revokes the previous one.

        ``InvalidRecordError`` for a PIN that breaks the rules (the message never repeats it).
        """
        check_id(subject_id, "subject id")
        pin = check_pin(pin)
        # Hashed before the write transaction: argon2 takes a while, the write lock is shared.
        secret_hash = self._hasher.hash(self._keyed_pin(subject_id, pin))
        with self._store.transaction() as session:
            subject = _holder(session, subject_id)
            now = utcnow()
            previous = session.scalars(
                select(Credential).where(
                    Credential.subject_id == subject.id,
                    Credential.kind == CredentialKind.PIN,
                    Credential.status == CredentialStatus.ACTIVE,
                )
            ).all()
            for old in previous:
                old.status = CredentialStatus.REVOKED
                old.revoked_at = now
                self._store.audit(
                    session,
                    actor,
                    AuditAction.CREDENTIAL_REVOKED,
                    site_id=subject.site_id,
                    subject_id=subject.id,
                    detail={"credential_id": old.id, "kind": "pin", "why": "replaced"},
                )
            log_revoked(self._store, previous, subject.site_id)
            credential = _new_credential(subject, CredentialKind.PIN, secret_hash=secret_hash)
            session.add(credential)
            self._store.audit(
                session,
                actor,
                AuditAction.CREDENTIAL_ISSUED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={"credential_id": credential.id, "kind": "pin"},
            )
            return credential_info(credential)

    def issue_otp(self, subject_id: str, actor: str, ttl: timedelta = DEFAULT_OTP_TTL) -> IssuedOtp:
        """A one-time code for an active subject, valid once within ``ttl`` (1 min to 24 h).

        The code is in the returned value only: hand it over (SMS, QR) and drop it.
        """
        check_id(subject_id, "subject id")
        if not isinstance(ttl, timedelta) or not MIN_OTP_TTL <= ttl <= MAX_OTP_TTL:
            raise InvalidRecordError(
                f"a one-time code lives between {MIN_OTP_TTL} and {MAX_OTP_TTL}, got {ttl}",
                reason="otp_ttl_range",
            )
        with self._store.transaction() as session:
            subject = _holder(session, subject_id)
            active = session.scalar(
                select(func.count())
                .select_from(Credential)
                .where(
                    Credential.subject_id == subject.id,
                    Credential.kind == CredentialKind.OTP,
                    Credential.status == CredentialStatus.ACTIVE,
                    Credential.expires_at > utcnow(),
                    # Visitor passes have their own limit (``store.passes``).
                    ~exists().where(VisitorPass.credential_id == Credential.id),
                )
            )
            if (active or 0) >= MAX_ACTIVE_OTPS:
                raise PolicyError(
                    f"this person already holds {MAX_ACTIVE_OTPS} unused one-time codes: "
                    "revoke one or let it expire first",
                    reason="too_many_otps",
                )
            code, lookup = draw_otp(session, self._store, subject.site_id)
            credential = _new_credential(subject, CredentialKind.OTP, lookup_hash=lookup)
            credential.expires_at = credential.created_at + ttl
            session.add(credential)
            self._store.audit(
                session,
                actor,
                AuditAction.CREDENTIAL_ISSUED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={
                    "credential_id": credential.id,
                    "kind": "otp",
                    "ttl_seconds": int(ttl.total_seconds()),
                },
            )
            return IssuedOtp(
                credential_id=credential.id,
                subject_id=subject.id,
                code=code,
                expires_at=credential.expires_at,
            )

    def revoke(self, credential_id: str, actor: str) -> CredentialInfo:
        """Revoke a credential at once. A revoked or spent one is returned unchanged."""
        check_id(credential_id, "credential id")
        with self._store.transaction() as session:
            credential = session.get(Credential, credential_id)
            if credential is None:
                raise NotFoundError(f"no credential with id {credential_id}")
            if credential.status is not CredentialStatus.ACTIVE:
                return credential_info(credential)
            credential.status = CredentialStatus.REVOKED
            credential.revoked_at = utcnow()
            subject = session.get_one(Subject, credential.subject_id)
            self._store.audit(
                session,
                actor,
                AuditAction.CREDENTIAL_REVOKED,
                site_id=subject.site_id,
                subject_id=subject.id,
                detail={"credential_id": credential.id, "kind": credential.kind.value},
            )
            log_revoked(self._store, [credential], subject.site_id)
            return credential_info(credential)

    def list_for_subject(self, subject_id: str) -> list[CredentialInfo]:
        """The subject's credentials, oldest first, revoked and spent ones included."""
        check_id(subject_id, "subject id")
        with self._store.reading() as session:
            if session.get(Subject, subject_id) is None:
                raise NotFoundError(f"no subject with id {subject_id}")
            credentials = session.scalars(
                select(Credential)
                .where(Credential.subject_id == subject_id)
                .order_by(Credential.created_at, Credential.id)
            )
            return [credential_info(credential) for credential in credentials]

    # The gate decision

    def check(
        self,
        site_code: str,
        gate_code: str,
        kind: CredentialKind | str,
        secret: str,
        *,
        subject_id: str | None = None,
        resident_number: str | None = None,
        actor: str,
        device: str | None = None,
    ) -> CredentialDecision:
        """Decide whether a card, PIN or one-time code opens a gate; audits the decision.

        ``secret`` is the card number, PIN or code as presented. A card or code names its
        owner itself; a PIN needs ``subject_id`` or the six-digit ``resident_number`` that a
        person can type at a PIN pad. An unknown resident number costs the same work and
        gets the same answer as a wrong PIN. Nothing else is asked (R-11), and consent
        to face processing is not consulted (R-08). A one-time code is spent in the same
        transaction that lets it open, so a replay is refused.

        Raises ``NotFoundError`` for an unknown site or gate and ``InvalidRecordError`` for
        malformed input: those are not decisions. Every answer that is one is returned and
        written to the audit log (gate, kind, outcome, reason, device; never the secret).
        """
        credential_kind = _kind(kind)
        if credential_kind is CredentialKind.PIN:
            if (subject_id is None) == (resident_number is None):
                raise InvalidRecordError(
                    "a PIN is checked for a subject: give the subject id or the resident number",
                    reason="pin_needs_owner",
                )
            presented = check_pin_attempt(secret)
            if resident_number is not None:
                subject_id = self._by_resident_number(site_code, gate_code, resident_number)
            elif subject_id is not None:
                check_id(subject_id, "subject id")
        else:
            if subject_id is not None or resident_number is not None:
                raise InvalidRecordError(
                    f"a {credential_kind.value} names its owner: no subject id",
                    reason="credential_names_owner",
                )
            presented = (
                normalize_card_number(secret)
                if credential_kind is CredentialKind.CARD
                else check_otp_code(secret)
            )
        if device is not None:
            device = check_text(device, "device", DEVICE_LENGTH)
        attempt = None
        if credential_kind is CredentialKind.PIN and subject_id is not None:
            claimed = f"number:{resident_number.strip()}" if resident_number else subject_id
            attempt = self._pin_attempt(
                site_code, gate_code, subject_id, presented, claimed, device
            )
        with self._store.transaction() as session:
            gate = gate_by_code(session, site_code, gate_code)
            now = utcnow()
            if not _accepts(gate, credential_kind):
                finding = _Finding(CredentialReason.GATE_DOES_NOT_ACCEPT)
            elif not self._store.schedules.allows(session, gate, credential_kind.value):
                finding = _Finding(CredentialReason.OUTSIDE_SCHEDULE)
            elif attempt is not None and subject_id is not None:
                # Checked again under the write lock: PINs sent at once for one number all
                # passed the first check before any of them was counted.
                running = backoff.blocked_until(session, attempt.sources, now)
                if attempt.blocked_until is None and running is not None:
                    attempt = replace(attempt, blocked_until=running)
                finding = _decide_pin(session, gate, subject_id, attempt, now)
                if finding.reason is CredentialReason.WRONG_PIN:
                    backoff.record_failure(session, gate.site_id, attempt.sources, now)
                elif finding.reason is CredentialReason.OK:
                    backoff.clear(session, attempt.sources)
            else:
                lookup = self._store.site_key.lookup_hash(
                    credential_kind.value, presented, scope=gate.site_id
                )
                finding = _decide_lookup(session, gate, credential_kind, lookup, now, self._store)
            outcome = OUTCOME_BY_REASON[finding.reason]
            detail: dict[str, str | None] = {
                "gate": gate.code,
                "kind": credential_kind.value,
                "outcome": outcome.value,
                "reason": finding.reason.value,
            }
            if finding.credential_id is not None:
                detail["credential_id"] = finding.credential_id
            if finding.visitor_pass is not None:
                detail["visitor_pass"] = finding.visitor_pass
            if device is not None:
                detail["device"] = device
            event_id = self._store.audit(
                session,
                actor,
                AuditAction.DECISION_CREDENTIAL,
                site_id=gate.site_id,
                subject_id=finding.subject_id,
                detail=detail,
            )
        return CredentialDecision(
            outcome=outcome,
            reason=ANSWERED_AS.get(finding.reason, finding.reason),
            gate_code=gate.code,
            kind=credential_kind,
            subject_id=finding.subject_id if outcome is GateOutcome.OPEN else None,
            audit_event_id=event_id,
            retry_after_s=_seconds_until(attempt.blocked_until, now)
            if attempt is not None and attempt.blocked_until is not None
            else None,
        )

    def _by_resident_number(self, site_code: str, gate_code: str, number: str) -> str:
        """The subject of the gate's site with that resident number; when there is none, a
        fresh id that names no one, so the PIN check runs (and fails) just the same."""
        number = number.strip()
        if not number.isdigit() or len(number) > RESIDENT_NUMBER_DIGITS:
            raise InvalidRecordError(
                f"a resident number is up to {RESIDENT_NUMBER_DIGITS} digits",
                reason="resident_number_format",
            )
        with self._store.reading() as session:
            gate = gate_by_code(session, site_code, gate_code)
            found = session.scalar(
                select(Subject.id).where(
                    Subject.site_id == gate.site_id, Subject.resident_number == number
                )
            )
        return found if found is not None else new_id()

    def _keyed_pin(self, subject_id: str, pin: str) -> str:
        # What argon2 hashes: without the site key a stolen hash cannot be searched.
        return self._store.site_key.lookup_hash(CredentialKind.PIN.value, pin, scope=subject_id)

    def _pin_attempt(
        self,
        site_code: str,
        gate_code: str,
        subject_id: str,
        pin: str,
        claimed: str,
        device: str | None,
    ) -> _PinAttempt:
        """Verify the PIN outside the write lock. An unknown subject, one without a PIN or
        one at another site costs the same argon2 work as a wrong PIN; while the typed
        number or the device must wait, no PIN is checked, whoever the number is."""
        with self._store.reading() as session:
            gate = gate_by_code(session, site_code, gate_code)
            if not gate.accepts_pin:
                return _PinAttempt(None, None, matched=False)
            now = utcnow()
            sources = backoff.source_keys(self._store.site_key, gate.site_id, claimed, device)
            until = backoff.blocked_until(session, sources, now)
            if until is not None:
                return _PinAttempt(None, None, False, sources, until)
            credential = _active_pin(session, gate, subject_id, now)
            credential_id = credential.id if credential is not None else None
            secret_hash = credential.secret_hash if credential is not None else None
        keyed = self._keyed_pin(subject_id, pin)
        if credential_id is None or secret_hash is None:
            self._hasher.burn(keyed)
            return _PinAttempt(None, None, False, sources)
        matched = self._hasher.verify(secret_hash, keyed)
        return _PinAttempt(credential_id, secret_hash, matched, sources)


def _decide_pin(
    session: Session, gate: Gate, subject_id: str, attempt: _PinAttempt, now: datetime
) -> _Finding:
    subject = session.get(Subject, subject_id)
    known = subject.id if subject is not None and subject.site_id == gate.site_id else None
    if attempt.blocked_until is not None:
        return _Finding(CredentialReason.TOO_MANY_TRIES, known)
    credential = _active_pin(session, gate, subject_id, now)
    if credential is None:
        return _Finding(CredentialReason.WRONG_PIN, known)
    found = _Finding(CredentialReason.WRONG_PIN, known, credential.id)
    if credential.id != attempt.credential_id or credential.secret_hash != attempt.secret_hash:
        return found  # the PIN was reset while this attempt was being checked
    if attempt.matched:
        return _Finding(CredentialReason.OK, known, credential.id)
    return found


def _decide_lookup(
    session: Session, gate: Gate, kind: CredentialKind, lookup: str, now: datetime, store: Store
) -> _Finding:
    credential = session.scalar(
        select(Credential).where(Credential.lookup_hash == lookup, Credential.kind == kind)
    )
    if credential is None:
        return _Finding(CredentialReason.UNKNOWN_CREDENTIAL)
    subject = session.get_one(Subject, credential.subject_id)
    if subject.site_id != gate.site_id:  # unreachable while lookup hashes are per site
        return _Finding(CredentialReason.UNKNOWN_CREDENTIAL)

    visit = store.passes.window_of(session, credential.id) if kind is CredentialKind.OTP else None

    def finding(reason: CredentialReason) -> _Finding:
        return _Finding(reason, subject.id, credential.id, visit.id if visit else None)

    if credential.status is CredentialStatus.REVOKED:
        return finding(CredentialReason.REVOKED)
    if credential.status is CredentialStatus.USED:
        return finding(CredentialReason.USED)
    if credential.expires_at is not None and credential.expires_at <= now:
        return finding(CredentialReason.EXPIRED)
    if not may_enter(subject, now):
        return finding(CredentialReason.SUBJECT_INACTIVE)
    if visit is not None and gate.id not in visit.gate_ids:
        return finding(CredentialReason.NOT_FOR_THIS_GATE)
    if visit is not None and now < visit.valid_from:
        return finding(CredentialReason.NOT_YET_VALID)
    if kind is CredentialKind.OTP:
        # Spent in the transaction that opens; the status guard refuses a racing replay.
        spent = session.scalar(
            update(Credential)
            .where(Credential.id == credential.id, Credential.status == CredentialStatus.ACTIVE)
            .values(status=CredentialStatus.USED, used_at=now)
            .returning(Credential.id)
        )
        if spent is None:
            return finding(CredentialReason.USED)
        # A restored backup must not make the spent code usable again.
        store.keystore.log_revocations(
            [
                Revoked(
                    credential.id,
                    RevokedKind.CREDENTIAL,
                    subject.site_id,
                    CredentialStatus.USED.value,
                    now,
                )
            ]
        )
    return finding(CredentialReason.OK)


def draw_otp(session: Session, store: Store, site_id: str) -> tuple[str, str]:
    """A fresh one-time code and its keyed hash at ``site_id``, unused by any credential."""
    for _ in range(_OTP_DRAWS):
        code = new_otp_code()
        lookup = store.site_key.lookup_hash(CredentialKind.OTP.value, code, scope=site_id)
        if session.scalar(select(Credential.id).where(Credential.lookup_hash == lookup)) is None:
            return code, lookup
    raise AlreadyExistsError(  # pragma: no cover - five collisions in a row (~1e-40)
        "could not draw an unused one-time code; try again", reason="otp_draw_failed"
    )


def log_revoked(store: Store, credentials: Sequence[Credential], site_id: str) -> None:
    """Note revoked credentials in the key store's revocation log, before the caller's
    transaction commits: a crash can then leave an extra entry, never lose one, and a
    restored backup cannot bring them back (``store.revocations``)."""
    store.keystore.log_revocations(
        Revoked(
            credential.id,
            RevokedKind.CREDENTIAL,
            site_id,
            CredentialStatus.REVOKED.value,
            credential.revoked_at or utcnow(),
        )
        for credential in credentials
    )


def _holder(session: Session, subject_id: str) -> Subject:
    """The subject a new credential is for: active, not moved out, not expired."""
    subject = active_subject(session, subject_id)
    if not may_enter(subject, utcnow()):
        raise PolicyError(
            f"subject {subject_id} has moved out or their stay has ended: no new credential",
            reason="moved_out",
        )
    return subject


def _active_pin(session: Session, gate: Gate, subject_id: str, now: datetime) -> Credential | None:
    """The subject's active PIN, if the subject belongs to the gate's site and may enter."""
    subject = session.get(Subject, subject_id)
    if subject is None or subject.site_id != gate.site_id or not may_enter(subject, now):
        return None
    return session.scalar(
        select(Credential).where(
            Credential.subject_id == subject.id,
            Credential.kind == CredentialKind.PIN,
            Credential.status == CredentialStatus.ACTIVE,
        )
    )


def _seconds_until(end: datetime, now: datetime) -> int:
    return max(1, math.ceil((end - now).total_seconds()))


def _accepts(gate: Gate, kind: CredentialKind) -> bool:
    return {
        CredentialKind.CARD: gate.accepts_card,
        CredentialKind.PIN: gate.accepts_pin,
        CredentialKind.OTP: gate.accepts_otp,
    }[kind]


def _new_credential(
    subject: Subject,
    kind: CredentialKind,
    *,
    lookup_hash: str | None = None,
    secret_hash: str | None = None,
) -> Credential:
    return Credential(
        id=new_id(),
        subject_id=subject.id,
        kind=kind,
        status=CredentialStatus.ACTIVE,
        lookup_hash=lookup_hash,
        secret_hash=secret_hash,
        created_at=utcnow(),
    )


def _kind(value: CredentialKind | str) -> CredentialKind:
    try:
        return CredentialKind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in CredentialKind)
        raise InvalidRecordError(
            f"kind {value!r} is not one of: {allowed}", reason="unknown_credential_kind"
        ) from None


def credential_info(credential: Credential) -> CredentialInfo:
    return CredentialInfo(
        id=credential.id,
        subject_id=credential.subject_id,
        kind=credential.kind,
        status=credential.status,
        created_at=credential.created_at,
        expires_at=credential.expires_at,
        used_at=credential.used_at,
        revoked_at=credential.revoked_at,
    )
