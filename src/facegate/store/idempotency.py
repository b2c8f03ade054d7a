"""Idempotency keys: the first answer to a create, kept so a retry is not done twice.

The web layer (``api.idempotency``) calls ``claim`` before a create runs and ``finish``
after it answered. A claim is one row per (principal, key), inserted or left alone in one
statement, so of two concurrent requests with the same key exactly one runs; the other
waits for the first one's answer (a claim unanswered for ``ABANDONED_AFTER`` was left by
a process that died, and is taken over). Rows older than ``KEY_TTL`` are pruned at each
claim.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from facegate.store.module import StoreModule
from facegate.store.schema import IdempotencyRecord, utcnow

#: How long a key is remembered.
KEY_TTL = timedelta(hours=24)
#: A claim still unanswered after this long was left by a process that died: taken over.
ABANDONED_AFTER = timedelta(minutes=5)
_KIND = "idempotency"


class ClaimOutcome(StrEnum):
    #: This request holds the key: run it, then ``finish``.
    FIRST = "first"
    #: The same request is still running elsewhere: wait and claim again.
    RUNNING = "running"
    #: The same request was answered: replay ``status`` and ``body``.
    REPLAY = "replay"
    #: The same request was answered with a one-time secret, which was not kept.
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

    def claim(self, principal: str, key: str, fingerprint: str) -> Claim:
        """Claim ``key`` for the request whose SHA-256 is ``fingerprint``. Kept keyed
        (HMAC with the site key): a body can hold a password the administrator chose."""
        fingerprint = self._store.site_key.lookup_hash(_KIND, fingerprint, scope=principal)
        now = utcnow()
        digest = key_digest(key)
        with self._store.transaction() as session:
            session.execute(
                delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - KEY_TTL)
            )
            values = {
                "principal": principal,
                "key": digest,
                "fingerprint": fingerprint,
                "created_at": now,
                "status": None,
                "body": None,
                "secret": False,
            }
            inserted = _insert_new(session, values)
            if inserted:
                return Claim(ClaimOutcome.FIRST)
            row = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.principal == principal, IdempotencyRecord.key == digest
                )
            ).one()
            if row.fingerprint != fingerprint:
                return Claim(ClaimOutcome.REUSED)
            if row.status is None and row.created_at < now - ABANDONED_AFTER:
                row.created_at = now
                return Claim(ClaimOutcome.FIRST)
            if row.status is None:
                return Claim(ClaimOutcome.RUNNING)
            if row.secret:
                return Claim(ClaimOutcome.SECRET, row.status)
            return Claim(ClaimOutcome.REPLAY, row.status, row.body)

    def finish(
        self, principal: str, key: str, status: int, body: str | None, *, secret: bool
    ) -> None:
        """Keep the answer of a claimed request (``body`` None when ``secret``)."""
        with self._store.transaction() as session:
            row = session.get(IdempotencyRecord, (principal, key_digest(key)))
            if row is None:
                return
            row.status = status
            row.secret = secret
            row.body = None if secret else body

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


def _insert_new(session: Session, values: dict[str, object]) -> bool:
    """Insert the row unless its key exists, in one statement; whether it was inserted."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(IdempotencyRecord).values(**values).on_conflict_do_nothing()
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0) == 1
