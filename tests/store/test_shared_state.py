"""The state several workers share through the database: rate-limit windows, outstanding
challenges, and the gallery versions that drop another worker's stale cache.

Each "worker" is a second ``Store`` opened on the same database (its own engine and
connections), on SQLite and on PostgreSQL (``backend``).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from facegate.api.gallery_watch import GalleryWatch
from facegate.api.ratelimit import Limit, RateLimiter
from facegate.core.config import Settings
from facegate.errors import RateLimitedError
from facegate.liveness.challenge import (
    EXPIRED_GRACE_SECONDS,
    ChallengeError,
    ChallengeIssuer,
)
from facegate.store import DeletionReason, SiteInfo, Store, shared_state
from facegate.store.schema import LivenessChallenge, RateLimitEvent
from facegate.store.shared_state import SharedChallenges, SharedRateLimits

from .helpers import MODEL, OPERATOR, SITE_CODE, consented_subject, enrolled_subject

PIN = Limit("test_pins", 5, 60.0)
#: Epoch seconds the fake clocks start at.
T0 = 1_800_000_000.0
THREADS = 8


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def other(settings: Settings, store: Store) -> Iterator[Store]:
    """A second worker's store on the same database."""
    with Store.open(settings) as opened:
        yield opened


def _limiter(store: Store, clock: Callable[[], float]) -> RateLimiter:
    return RateLimiter(clock=clock, storage=SharedRateLimits(store))


def _issuer(store: Store, clock: Callable[[], float], **kwargs: int) -> ChallengeIssuer:
    return ChallengeIssuer(
        clock=clock, rng=random.Random(0), storage=SharedChallenges(store), **kwargs
    )


def _refusal(issuer: ChallengeIssuer, nonce: str, device: str, gate: str) -> str:
    with pytest.raises(ChallengeError) as caught:
        issuer.redeem(nonce, device, gate)
    return caught.value.code


def test_a_limit_counts_the_hits_of_every_worker(store: Store, other: Store) -> None:
    clock = _Clock()
    workers = [_limiter(store, clock), _limiter(other, clock)]
    for i in range(PIN.events):
        workers[i % 2].hit(PIN, "198.51.100.7")
    for worker in workers:
        with pytest.raises(RateLimitedError) as caught:
            worker.hit(PIN, "198.51.100.7")
        assert caught.value.retry_after == 60
    workers[0].hit(PIN, "198.51.100.8")  # another key has its own window
    clock.now += 30.0
    with pytest.raises(RateLimitedError) as caught:
        workers[1].hit(PIN, "198.51.100.7")
    assert caught.value.retry_after == 30
    clock.now += 30.0  # the first hits leave the window
    workers[1].hit(PIN, "198.51.100.7")


def test_racing_workers_accept_no_more_than_the_limit(store: Store, other: Store) -> None:
    clock = _Clock()
    workers = [_limiter(store, clock), _limiter(other, clock)]
    accepted: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        for _ in range(3):
            try:
                workers[i % 2].hit(PIN, "device-1")
            except RateLimitedError:
                continue
            with lock:
                accepted.append(i)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == PIN.events


def test_keys_are_kept_as_digests_and_old_events_are_purged(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared_state, "PURGE_EVERY_S", 0.0)  # every hit purges all keys
    clock = _Clock()
    limiter = _limiter(store, clock)
    limiter.hit(PIN, "198.51.100.7")
    with store.reading() as session:
        rows = session.execute(select(RateLimitEvent.limit_name, RateLimitEvent.key_sha256)).all()
    kept = shared_state.digest(store, shared_state.RATE_LIMIT_KEY, "198.51.100.7")
    assert [tuple(row) for row in rows] == [(PIN.name, kept)]
    assert kept != hashlib.sha256(b"198.51.100.7").hexdigest()  # keyed: not reversible
    clock.now += PIN.per_seconds + 1
    limiter.hit(PIN, "198.51.100.8")
    assert SharedRateLimits(store).count() == 1


def test_a_challenge_issued_by_one_worker_is_redeemed_once_by_another(
    store: Store, other: Store
) -> None:
    clock = _Clock()
    first, second = _issuer(store, clock), _issuer(other, clock)
    ticket = first.issue("device-1", "main")
    assert len(second) == 1
    assert _refusal(second, ticket.nonce, "device-2", "main") == "nonce_mismatch"
    assert _refusal(second, ticket.nonce, "device-1", "side") == "nonce_mismatch"
    assert second.redeem(ticket.nonce, "device-1", "main") == ticket
    assert _refusal(first, ticket.nonce, "device-1", "main") == "unknown_nonce"
    assert _refusal(second, ticket.nonce, "device-1", "main") == "unknown_nonce"
    assert len(first) == 0


def test_racing_redeems_hand_the_ticket_out_exactly_once(store: Store, other: Store) -> None:
    clock = _Clock()
    issuers = [_issuer(store, clock), _issuer(other, clock)]
    ticket = issuers[0].issue("device-1", "main")
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem(i: int) -> None:
        try:
            issuers[i % 2].redeem(ticket.nonce, "device-1", "main")
            outcome = "redeemed"
        except ChallengeError as exc:
            outcome = exc.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["redeemed"] + ["unknown_nonce"] * (THREADS - 1)


def test_expiry_the_per_device_cap_and_the_purge(store: Store) -> None:
    clock = _Clock()
    issuer = _issuer(store, clock, max_outstanding_per_device=2)
    tickets = []
    for _ in range(3):
        tickets.append(issuer.issue("device-1", "main"))
        clock.now += 1.0  # the oldest by issue time is the one dropped
    oldest, kept, newest = tickets
    assert _refusal(issuer, oldest.nonce, "device-1", "main") == "unknown_nonce"
    clock.now = kept.expires_at
    assert _refusal(issuer, kept.nonce, "device-1", "main") == "expired_nonce"
    clock.now = newest.expires_at + EXPIRED_GRACE_SECONDS
    issuer.issue("device-2", "main")  # purges the last one, past its grace period
    assert len(issuer) == 1
    assert _refusal(issuer, newest.nonce, "device-1", "main") == "unknown_nonce"


def test_nonces_are_kept_as_digests(store: Store) -> None:
    ticket = _issuer(store, _Clock()).issue("device-1", "main")
    with store.reading() as session:
        kept = session.scalars(select(LivenessChallenge.nonce_sha256)).all()
    assert kept == [shared_state.digest(store, shared_state.CHALLENGE_NONCE, ticket.nonce)]
    assert ticket.nonce not in kept[0]


@pytest.mark.rule("R-23")
def test_another_workers_erasure_empties_this_workers_gallery_cache(
    store: Store, other: Store, site: SiteInfo
) -> None:
    subject, _ = enrolled_subject(store)
    watch = GalleryWatch(other)
    assert watch.tick() == []  # nothing cached yet
    other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")
    assert other.cached_subject_ids() == {subject.id}
    # A change that erases nobody leaves the cache to be brought up to date on its next read.
    enrolled_subject(store, seed=1, name="Li Si")
    assert watch.tick() == []
    assert other.cached_subject_ids() == {subject.id}
    store.delete_subject(subject.id, DeletionReason.REQUEST, OPERATOR)
    assert watch.tick() == [SITE_CODE]
    assert other.cached_subject_ids() == frozenset()
    assert watch.tick() == []


def test_an_erasure_of_someone_not_cached_keeps_the_cache(
    store: Store, other: Store, site: SiteInfo
) -> None:
    cached, _ = enrolled_subject(store)
    watch = GalleryWatch(other)
    other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")
    watch.tick()
    never_enrolled = consented_subject(store, SITE_CODE, name="Wang Wu")
    store.delete_subject(never_enrolled.id, DeletionReason.REQUEST, OPERATOR)
    assert watch.tick() == []
    assert other.cached_subject_ids() == {cached.id}


@pytest.mark.rule("R-23")
def test_another_workers_withdrawal_empties_this_workers_gallery_cache(
    store: Store, other: Store, site: SiteInfo
) -> None:
    kept, _ = enrolled_subject(store)
    withdrawing, _ = enrolled_subject(store, seed=1, name="Li Si")
    watch = GalleryWatch(other)
    other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")
    watch.tick()
    assert other.cached_subject_ids() == {kept.id, withdrawing.id}

    # A withdrawal leaves the subject active (only the face data goes): not a deletion.
    store.consents.withdraw_all(withdrawing.id, actor=OPERATOR)

    assert watch.tick() == [SITE_CODE]
    assert other.cached_subject_ids() == {kept.id}
    gallery = other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")
    assert set(gallery.subject_ids) == {kept.id}


def test_a_subject_forgotten_by_the_watch_comes_back_if_still_usable(
    store: Store, other: Store, site: SiteInfo
) -> None:
    subject, vectors = enrolled_subject(store)
    watch = GalleryWatch(other)
    watch.tick()
    other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")
    # A change that names the subject but leaves their templates usable.
    store.enroll(subject.id, vectors[:1], MODEL, [0.9], OPERATOR)

    assert watch.tick() == [SITE_CODE]  # removed from memory at once, to be read back
    assert other.cached_subject_ids() == frozenset()
    gallery = other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")
    assert gallery.subject_ids == (subject.id,)
    assert len(gallery) == len(vectors) + 1


def test_the_watch_leaves_a_gallery_already_brought_up_to_date(
    store: Store, other: Store, site: SiteInfo
) -> None:
    subject, vectors = enrolled_subject(store)
    watch = GalleryWatch(other)
    watch.tick()
    other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")
    store.enroll(subject.id, vectors[:1], MODEL, [0.9], OPERATOR)
    other.load_gallery(SITE_CODE, MODEL, OPERATOR, "identify")  # re-read under the lock

    assert watch.tick() == []
    assert other.cached_subject_ids() == {subject.id}
