"""Idempotency keys: the first answer to a create, kept so a retry is not done twice.

The web layer (``api.idempotency``) calls ``claim`` before a create runs and ``finish``
after it answered. A claim is one row per (principal, key), inserted or left alone in one
statement, so of two concurrent requests with the same key exactly one runs; the other
waits for the first one's answer by reading the row (``peek``, no write) and claims again
only when the row is gone (the first request failed and was released) or was abandoned (a
claim unanswered for ``ABANDONED_AFTER`` was left by a process that died, and is taken
over). A row older than ``KEY_TTL`` counts as absent; such rows are deleted by ``prune``,
which a claim runs at most once per ``PRUNE_EVERY`` in each process.

At most ``MAX_KEPT_PER_PRINCIPAL`` answers are kept per principal within ``KEY_TTL``:
beyond that an answer is recorded as not kept (like a one-time secret), so its retry is
told it was a duplicate rather than replayed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from facegate.store.module import StoreModule
from facegate.store.schema import IdempotencyRecord, utcnow

#: How long a key is remembered.
KEY_TTL = timedelta(hours=24)
#: A claim still unanswered after this long was left by a process that died: taken over.
ABANDONED_AFTER = timedelta(minutes=5)
#: A claim prunes expired keys at most this often (seconds) in one process.
PRUNE_EVERY = 60.0
#: Answers kept per principal within ``KEY_TTL``; later answers are not kept.
MAX_KEPT_PER_PRINCIPAL = 500
_KIND = "idempotency"


class ClaimOutcome(StrEnum):
    #: This request holds the key: run it, then ``finish``.
    FIRST = "first"
    #: The same request is still running elsewhere: wait and ``peek`` again.
    RUNNING = "running"
    #: The same request was answered: replay ``status`` and ``body``.
    REPLAY = "replay"
    #: The same request was answered but its answer was not kept (a one-time secret, too
    #: large, or over the principal's ``MAX_KEPT_PER_PRINCIPAL``).
    SECRET = "secret"  # noqa: S105 (an outcome, not a secret)
    #: The key was used for a different request.
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: ClaimOutcome
    status: int | None = None
    body: str | None = None


def key_digest(key: str) -> str:
    """Keys are opaque to the service: only their SHA-256 is kept."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Idempotency(StoreModule):
    """Claims on idempotency keys, per principal."""

    _prune_lock = threading.Lock()

    #: ``time.monotonic()`` of this process's last prune (None: not yet).
    _pruned_at: float | None = None

    def claim(self, principal: str, key: str, fingerprint: str) -> Claim:
        """Claim ``key`` for the request whose SHA-256 is ``fingerprint``. Kept keyed
        (HMAC with the site key): a body can hold a password the administrator chose."""
        self._prune_now_and_then()
        fingerprint = self._keyed(principal, fingerprint)
        now = utcnow()
        digest = key_digest(key)
        with self._store.transaction() as session:
            values = {
                "principal": principal,
                "key": digest,
                "fingerprint": fingerprint,
                "created_at": now,
                "status": None,
                "body": None,
                "secret": False,
            }
            if _insert_new(session, values):
                return Claim(ClaimOutcome.FIRST)
            row = session.get(IdempotencyRecord, (principal, digest))
            if row is None:  # released between the insert and this read
                return Claim(ClaimOutcome.RUNNING)
            if row.created_at < now - KEY_TTL:
                # Expired but not yet pruned: forgotten, so the key is new again.
                for name, value in values.items():
                    setattr(row, name, value)
                return Claim(ClaimOutcome.FIRST)
            found = _outcome(row, fingerprint, now)
            if found is None:  # abandoned: taken over
                row.created_at = now
                return Claim(ClaimOutcome.FIRST)
            return found

    def peek(self, principal: str, key: str, fingerprint: str) -> Claim | None:
        """What ``claim`` would answer, read only; None when the key is free to ``claim``
        (no row, an expired one, or an abandoned one)."""
        fingerprint = self._keyed(principal, fingerprint)
        now = utcnow()
        with self._store.reading() as session:
            row = session.get(IdempotencyRecord, (principal, key_digest(key)))
            if row is None or row.created_at < now - KEY_TTL:
                return None
            return _outcome(row, fingerprint, now)

    def finish(
        self, principal: str, key: str, status: int, body: str | None, *, secret: bool
    ) -> bool:
        """Record the answer of a claimed request: ``body`` is kept unless ``secret`` or
        the principal already has ``MAX_KEPT_PER_PRINCIPAL`` answers kept within
        ``KEY_TTL``. Whether the body was kept."""
        now = utcnow()
        with self._store.transaction() as session:
            row = session.get(IdempotencyRecord, (principal, key_digest(key)))
            if row is None:
                return False
            if not secret and body is not None:
                kept = session.scalar(
                    select(func.count())
                    .select_from(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.principal == principal,
                        IdempotencyRecord.body.is_not(None),
                        IdempotencyRecord.created_at >= now - KEY_TTL,
                    )
                )
                secret = int(kept or 0) >= MAX_KEPT_PER_PRINCIPAL
            row.status = status
            row.secret = secret or body is None
            row.body = None if row.secret else body
            return not row.secret

    def release(self, principal: str, key: str) -> None:
        """Forget a claim whose request failed: nothing was done, so a retry may run."""
        with self._store.transaction() as session:
            session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.principal == principal,
                    IdempotencyRecord.key == key_digest(key),
                )
            )

    def prune(self, now: datetime | None = None) -> int:
        """Delete the keys past ``KEY_TTL``; returns how many."""
        cutoff = (now or utcnow()) - KEY_TTL
        with self._store.transaction() as session:
            result = session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def _prune_now_and_then(self) -> None:
        """``prune`` unless this process pruned less than ``PRUNE_EVERY`` ago."""
        with self._prune_lock:
            clock = time.monotonic()
            if self._pruned_at is not None and clock - self._pruned_at < PRUNE_EVERY:
                return
            self._pruned_at = clock
        self.prune()

    def _keyed(self, principal: str, fingerprint: str) -> str:
        return self._store.site_key.lookup_hash(_KIND, fingerprint, scope=principal)


def _outcome(row: IdempotencyRecord, fingerprint: str, now: datetime) -> Claim | None:
    """What a live row tells a request with ``fingerprint``; None when it was abandoned."""
    if row.fingerprint != fingerprint:
        return Claim(ClaimOutcome.REUSED)
    if row.status is None:
        return None if row.created_at < now - ABANDONED_AFTER else Claim(ClaimOutcome.RUNNING)
    if row.secret:
        return Claim(ClaimOutcome.SECRET, row.status)
    return Claim(ClaimOutcome.REPLAY, row.status, row.body)


def _insert_new(session: Session, values: dict[str, object]) -> bool:
    """Insert the row unless its key exists, in one statement; whether it was inserted."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(IdempotencyRecord).values(**values).on_conflict_do_nothing()
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0) == 1
