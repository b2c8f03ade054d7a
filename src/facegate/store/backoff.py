"""Slowing PIN guessing down without letting a stranger lock a resident out (R-10, R-11).

A lock-out per PIN is a weapon: five wrong tries with someone's resident number and that
person's PIN is dead for a while, and the ``locked`` answer told the stranger the number
was real. Instead every source of guesses gets a wait that grows with its wrong PINs in a
row and never exceeds ``MAX_WAIT``:

- the typed resident number (or claimed subject id), whether or not anyone has it, so an
  unknown number answers exactly like a known one;
- the gate device, so one PIN pad cannot sweep through numbers.

The first ``FREE_FAILURES`` wrong PINs cost nothing (people mistype); then the wait
doubles from one second up to ``MAX_WAIT``. A try during a wait is refused unchecked and
does not lengthen it; a right PIN clears both rows. The trade-off: a stranger can make a
resident wait at most ``MAX_WAIT`` before their right PIN is checked (and the card, one-time
code and face stay open), while a guesser gets at most one PIN a minute per number and per
device once the wait is at its cap, about 1,440 a day: a six-digit PIN then takes a year
on average, and every try is in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facegate.store.crypto import SiteKey
from facegate.store.schema import GuessBackoff

FREE_FAILURES = 3
FIRST_WAIT = timedelta(seconds=1)
MAX_WAIT = timedelta(seconds=60)
#: Wrong PINs older than this are forgotten (and their rows purged).
FAILURE_MEMORY = timedelta(hours=24)
_KIND = "guess_backoff"
_MAX_DOUBLINGS = 32


def wait_after(failures: int) -> timedelta:
    """The wait after ``failures`` wrong PINs in a row from one source."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doublings = min(failures - FREE_FAILURES, _MAX_DOUBLINGS)  # 2**n of a huge n overflows
    wait: timedelta = FIRST_WAIT * 2**doublings
    return min(wait, MAX_WAIT)


def source_keys(
    site_key: SiteKey, site_id: str, claimed: str, device: str | None
) -> tuple[str, ...]:
    """Keyed hashes of the claimed number (or subject id) and of the device."""
    keys = [site_key.lookup_hash(_KIND, f"claimed:{claimed}", scope=site_id)]
    if device is not None:
        keys.append(site_key.lookup_hash(_KIND, f"device:{device}", scope=site_id))
    return tuple(keys)


def blocked_until(session: Session, keys: Sequence[str], now: datetime) -> datetime | None:
    """The end of the longest wait still running for any of ``keys``, or None."""
    ends = [
        end
        for end in session.scalars(
            select(GuessBackoff.blocked_until).where(GuessBackoff.key.in_(keys))
        )
        if end is not None and end > now
    ]
    return max(ends, default=None)


def record_failure(session: Session, site_id: str, keys: Sequence[str], now: datetime) -> None:
    """One more wrong PIN from each source; purges rows nobody has failed on for a day."""
    session.execute(delete(GuessBackoff).where(GuessBackoff.last_failure_at < now - FAILURE_MEMORY))
    for key in keys:
        row = session.get(GuessBackoff, key)
        if row is None:
            row = GuessBackoff(key=key, site_id=site_id, failures=0, last_failure_at=now)
            session.add(row)
        row.failures += 1
        row.last_failure_at = now
        wait = wait_after(row.failures)
        row.blocked_until = now + wait if wait else None


def clear(session: Session, keys: Sequence[str]) -> None:
    """A right PIN: its number and its device start afresh."""
    session.execute(delete(GuessBackoff).where(GuessBackoff.key.in_(keys)))
