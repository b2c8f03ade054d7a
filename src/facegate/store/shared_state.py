"""State that several workers of one service share through the database: rate-limit
windows, outstanding liveness challenges, and what tells a worker that another one erased
someone whose templates it holds (gallery versions, erasure times).

Why the counting is SQL here and not the ``limits`` library: its storages are memory
(per process, what ``api.ratelimit.MemoryWindows`` already is), Redis, Memcached, MongoDB
and etcd, each a server that would have to be run, secured and backed up beside the
database. The database is already shared by every worker, and a sliding window is three
statements in one writing transaction. Writing transactions are serialized on both
databases (``store.engine``: SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's writer advisory
lock), so the count and the insert of one hit cannot interleave with another process's
(a count alone would let both insert when the window is one short of full). The price is
that hits queue behind every other write, enrollments and audit events included.

Keys of limits (client addresses, device ids) and challenge nonces are kept only as their
HMAC-SHA256 under the site key (columns ``*_sha256``); rows live no longer than their
window (rate limits) or their expiry plus a grace period (challenges) and are purged by
the normal hits.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from facegate.liveness.challenge import (
    Challenge,
    ChallengeTicket,
    nonce_mismatch,
    unknown_nonce,
)
from facegate.store.gallery_updates import changed_subjects
from facegate.store.module import StoreModule
from facegate.store.schema import LivenessChallenge, RateLimitEvent, Site

if TYPE_CHECKING:
    from facegate.store.service import Store

#: Every hit deletes its own key's old events; all keys' expired rows go at most this
#: often (seconds) per process.
PURGE_EVERY_S = 10.0
_STEP_SEPARATOR = ","


#: HMAC domains of what the tables keep instead of limit keys and nonces.
RATE_LIMIT_KEY = "rate_limit_key"
CHALLENGE_NONCE = "challenge_nonce"


def digest(store: Store, kind: str, value: str) -> str:
    """HMAC-SHA256 (hex) of ``value`` under the site key: what the tables keep instead of
    keys and nonces. Keyed, because a client's IPv4 address is one of 2^32 and a plain
    hash of it would be reversed by trying them all."""
    return store.site_key.lookup_hash(kind, value, scope=kind)


class _Purges:
    """When this process last purged every key's expired rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at: float | None = None

    def due(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._at is not None and now - self._at < PURGE_EVERY_S:
                return False
            self._at = now
            return True


class SharedRateLimits(StoreModule):
    """Sliding-window rate limits in the database (``api.ratelimit.WindowStorage``).

    ``now`` is seconds since the epoch: the clock every worker shares.
    """

    _purges = _Purges()

    def add(self, name: str, key: str, events: int, per_seconds: float, now: float) -> float | None:
        key_sha256 = digest(self._store, RATE_LIMIT_KEY, key)
        mine = (RateLimitEvent.limit_name == name) & (RateLimitEvent.key_sha256 == key_sha256)
        with self._store.transaction() as session:
            session.execute(
                delete(RateLimitEvent).where(mine, RateLimitEvent.at <= now - per_seconds)
            )
            if self._purges.due():
                session.execute(delete(RateLimitEvent).where(RateLimitEvent.expires_at <= now))
            counted, oldest = session.execute(
                select(func.count(), func.min(RateLimitEvent.at)).where(mine)
            ).one()
            if counted >= events:
                return float(oldest) + per_seconds - now
            session.add(
                RateLimitEvent(
                    limit_name=name, key_sha256=key_sha256, at=now, expires_at=now + per_seconds
                )
            )
            return None

    def count(self) -> int:
        """Events held, every limit and key (tests, the purge)."""
        with self._store.reading() as session:
            return int(session.scalar(select(func.count()).select_from(RateLimitEvent)) or 0)


class SharedChallenges(StoreModule):
    """Outstanding challenges in the database (``liveness.challenge.TicketStorage``).

    The nonce is kept only as its HMAC (``digest``), so the ticket handed back by
    :meth:`take` carries the nonce its caller presented. Times are seconds since the epoch.
    """

    def put(self, ticket: ChallengeTicket, *, keep_per_device: int, forget_before: float) -> None:
        with self._store.transaction() as session:
            session.execute(
                delete(LivenessChallenge).where(LivenessChallenge.expires_at <= forget_before)
            )
            session.add(
                LivenessChallenge(
                    nonce_sha256=digest(self._store, CHALLENGE_NONCE, ticket.nonce),
                    device_id=ticket.device_id,
                    gate=ticket.gate,
                    steps=_STEP_SEPARATOR.join(step.value for step in ticket.steps),
                    issued_at=ticket.issued_at,
                    expires_at=ticket.expires_at,
                )
            )
            session.flush()
            dropped = session.scalars(
                select(LivenessChallenge.nonce_sha256)
                .where(LivenessChallenge.device_id == ticket.device_id)
                .order_by(LivenessChallenge.issued_at.desc(), LivenessChallenge.nonce_sha256)
                .offset(keep_per_device)
            ).all()
            if dropped:
                session.execute(
                    delete(LivenessChallenge).where(LivenessChallenge.nonce_sha256.in_(dropped))
                )

    def take(self, nonce: str, device_id: str, gate: str) -> ChallengeTicket:
        nonce_sha256 = digest(self._store, CHALLENGE_NONCE, nonce)
        with self._store.transaction() as session:
            row = session.get(LivenessChallenge, nonce_sha256)
            if row is None:
                raise unknown_nonce()
            if row.device_id != device_id or row.gate != gate:
                raise nonce_mismatch()
            ticket = ChallengeTicket(
                nonce=nonce,
                steps=tuple(Challenge(step) for step in row.steps.split(_STEP_SEPARATOR)),
                device_id=row.device_id,
                gate=row.gate,
                issued_at=row.issued_at,
                expires_at=row.expires_at,
            )
            # The delete decides: of two workers that both read the row, one deletes it.
            gone = session.execute(
                delete(LivenessChallenge).where(LivenessChallenge.nonce_sha256 == nonce_sha256)
            )
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                raise unknown_nonce()
            return ticket

    def __len__(self) -> int:
        with self._store.reading() as session:
            return int(session.scalar(select(func.count()).select_from(LivenessChallenge)) or 0)


class GalleryVersions(StoreModule):
    """What a worker reads to drop from its galleries whom another worker's change
    concerns (``api.gallery_watch``): each site's ``gallery_version`` and the subjects its
    changes name."""

    def read(self) -> dict[str, int]:
        """Each site's ``gallery_version``, by site code."""
        with self._store.reading() as session:
            return {
                code: int(version)
                for code, version in session.execute(select(Site.code, Site.gallery_version))
            }

    def changes(self, moved: dict[str, tuple[int, int]]) -> dict[str, frozenset[str] | None]:
        """For each site code's (seen, current) versions, the subjects its changes name
        (``gallery_change``); None where a change named nobody or the log has a gap."""
        if not moved:
            return {}
        with self._store.reading() as session:
            ids = dict(
                session.execute(select(Site.code, Site.id).where(Site.code.in_(list(moved)))).all()
            )
            return {
                code: changed_subjects(session, ids[code], seen, current)
                for code, (seen, current) in moved.items()
                if code in ids
            }
