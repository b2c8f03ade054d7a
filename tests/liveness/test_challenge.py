"""Challenge tickets: random orders, single use, expiry, binding to device and gate (a
wrong device is refused without spending the right one's ticket)."""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter

import pytest

from facegate.api.errors import status_of
from facegate.liveness.challenge import (
    DEFAULT_STEPS,
    EXPIRED_GRACE_SECONDS,
    MAX_STEPS,
    NONCE_BYTES,
    Challenge,
    ChallengeError,
    ChallengeErrorCode,
    ChallengeIssuer,
    ChallengeTicket,
    order_count,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer(clock: FakeClock) -> ChallengeIssuer:
    return ChallengeIssuer(ttl_seconds=30.0, clock=clock, rng=random.Random(7))


def _refused(issuer: ChallengeIssuer, nonce: str, device: str, gate: str) -> str:
    with pytest.raises(ChallengeError) as caught:
        issuer.redeem(nonce, device, gate)
    return caught.value.code


def test_ticket_fields(issuer: ChallengeIssuer, clock: FakeClock) -> None:
    ticket = issuer.issue("dev-1", "main")
    assert ticket.device_id == "dev-1"
    assert ticket.gate == "main"
    assert ticket.issued_at == 1000.0
    assert ticket.expires_at == 1030.0
    assert ticket.ttl_seconds == 30.0
    assert len(ticket.steps) == DEFAULT_STEPS
    assert all(isinstance(step, Challenge) for step in ticket.steps)
    # token_urlsafe: 4 characters per 3 bytes, from the URL-safe alphabet
    assert len(ticket.nonce) == NONCE_BYTES * 4 // 3
    assert set(ticket.nonce) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_every_order_of_three_steps_is_drawn_and_none_repeats_a_step(
    issuer: ChallengeIssuer,
) -> None:
    orders = Counter(issuer.issue(f"dev-{i % 3}", "main").steps for i in range(2400))
    expected = {
        steps
        for steps in itertools.product(Challenge, repeat=3)
        if all(a is not b for a, b in itertools.pairwise(steps))
    }
    assert len(expected) == 12 == order_count(3)
    assert set(orders) == expected
    # uniform: each of the 12 orders about 200 times (binomial sd ~13.8; 5 sd margin)
    assert all(130 <= n <= 270 for n in orders.values()), orders


@pytest.mark.parametrize(("steps", "count"), [(1, 3), (2, 6), (3, 12), (4, 24)])
def test_order_count(steps: int, count: int, clock: FakeClock) -> None:
    assert order_count(steps) == count
    issuer = ChallengeIssuer(steps=steps, clock=clock, rng=random.Random(1))
    drawn = {issuer.issue(f"dev-{i}", "g").steps for i in range(40 * count)}
    assert len(drawn) == count


def test_same_seed_same_orders(clock: FakeClock) -> None:
    first = ChallengeIssuer(clock=clock, rng=random.Random(3))
    second = ChallengeIssuer(clock=clock, rng=random.Random(3))
    assert [first.issue("d", "g").steps for _ in range(4)] == [
        second.issue("d", "g").steps for _ in range(4)
    ]


def test_redeem_returns_the_ticket_once(issuer: ChallengeIssuer, clock: FakeClock) -> None:
    ticket = issuer.issue("dev-1", "main")
    clock.now += 29.9
    assert issuer.redeem(ticket.nonce, "dev-1", "main") == ticket
    assert _refused(issuer, ticket.nonce, "dev-1", "main") == "unknown_nonce"
    assert len(issuer) == 0


def test_unknown_and_reused_nonces_read_the_same(issuer: ChallengeIssuer) -> None:
    ticket = issuer.issue("dev-1", "main")
    issuer.redeem(ticket.nonce, "dev-1", "main")
    errors: list[ChallengeError] = []
    for nonce in (ticket.nonce, "never-issued"):
        with pytest.raises(ChallengeError) as caught:
            issuer.redeem(nonce, "dev-1", "main")
        errors.append(caught.value)
    reused, unknown = errors
    assert reused.code == unknown.code == ChallengeErrorCode.UNKNOWN_NONCE
    assert str(reused) == str(unknown)


def test_expired(issuer: ChallengeIssuer, clock: FakeClock) -> None:
    ticket = issuer.issue("dev-1", "main")
    clock.now += 30.0
    assert _refused(issuer, ticket.nonce, "dev-1", "main") == "expired_nonce"
    # consumed by the refused attempt too
    assert _refused(issuer, ticket.nonce, "dev-1", "main") == "unknown_nonce"


def test_expired_tickets_are_purged_on_issue(issuer: ChallengeIssuer, clock: FakeClock) -> None:
    old = issuer.issue("dev-1", "main")
    clock.now += 30.0 + EXPIRED_GRACE_SECONDS - 1.0
    issuer.issue("dev-2", "main")
    assert len(issuer) == 2  # within the grace period: still answers "expired"
    clock.now += 1.0
    fresh = issuer.issue("dev-3", "main")
    assert len(issuer) == 2
    assert _refused(issuer, old.nonce, "dev-1", "main") == "unknown_nonce"
    assert issuer.redeem(fresh.nonce, "dev-3", "main") == fresh


@pytest.mark.parametrize(("device", "gate"), [("dev-2", "main"), ("dev-1", "side"), ("", "")])
def test_a_mismatch_is_refused_and_leaves_the_ticket_to_its_device(
    issuer: ChallengeIssuer, clock: FakeClock, device: str, gate: str
) -> None:
    ticket = issuer.issue("dev-1", "main")
    for _ in range(3):  # however often the wrong device tries
        assert _refused(issuer, ticket.nonce, device, gate) == "nonce_mismatch"
    assert len(issuer) == 1
    clock.now += 29.9
    assert issuer.redeem(ticket.nonce, "dev-1", "main") == ticket
    # Once redeemed, the wrong device is told what anyone is: no such challenge.
    assert _refused(issuer, ticket.nonce, device, gate) == "unknown_nonce"


def test_a_mismatch_on_an_expired_ticket_says_mismatch_and_spends_nothing(
    issuer: ChallengeIssuer, clock: FakeClock
) -> None:
    ticket = issuer.issue("dev-1", "main")
    clock.now += 30.0
    # The wrong device learns nothing of the ticket's timing.
    assert _refused(issuer, ticket.nonce, "dev-2", "main") == "nonce_mismatch"
    assert _refused(issuer, ticket.nonce, "dev-1", "main") == "expired_nonce"
    assert _refused(issuer, ticket.nonce, "dev-1", "main") == "unknown_nonce"


def test_a_mismatch_does_not_count_against_the_devices_outstanding_tickets(
    clock: FakeClock,
) -> None:
    issuer = ChallengeIssuer(clock=clock, rng=random.Random(0), max_outstanding_per_device=1)
    ticket = issuer.issue("dev-1", "main")
    assert _refused(issuer, ticket.nonce, "dev-2", "main") == "nonce_mismatch"
    issuer.issue("dev-2", "main")  # dev-2's own ticket does not push out dev-1's
    assert issuer.redeem(ticket.nonce, "dev-1", "main") == ticket


def test_oldest_ticket_of_a_device_is_dropped(clock: FakeClock) -> None:
    issuer = ChallengeIssuer(clock=clock, rng=random.Random(0), max_outstanding_per_device=2)
    first, second, third = (issuer.issue("dev-1", "main") for _ in range(3))
    other = issuer.issue("dev-2", "main")
    assert len(issuer) == 3
    assert _refused(issuer, first.nonce, "dev-1", "main") == "unknown_nonce"
    for ticket in (second, third, other):
        assert issuer.redeem(ticket.nonce, ticket.device_id, "main") == ticket
    assert len(issuer) == 0


def test_error_maps_to_409_with_its_code() -> None:
    error = ChallengeError(ChallengeErrorCode.EXPIRED_NONCE, "late")
    assert error.code == "expired_nonce"
    assert status_of(error) == 409


def test_concurrent_redeem_succeeds_exactly_once(issuer: ChallengeIssuer) -> None:
    tickets: list[ChallengeTicket] = [issuer.issue(f"dev-{i}", "main") for i in range(4)]
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(ticket: ChallengeTicket) -> None:
        barrier.wait()
        try:
            issuer.redeem(ticket.nonce, ticket.device_id, "main")
        except ChallengeError:
            return
        wins.append(ticket.nonce)

    threads = [threading.Thread(target=attempt, args=(t,)) for t in tickets for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == sorted(t.nonce for t in tickets)


def _race(issuer: ChallengeIssuer, nonce: str, devices: list[str]) -> tuple[list[str], list[str]]:
    """Every device redeems ``nonce`` at once: (the winners, the refusals' codes)."""
    wins: list[str] = []
    codes: list[str] = []
    barrier = threading.Barrier(len(devices))

    def attempt(device: str) -> None:
        barrier.wait()
        try:
            wins.append(issuer.redeem(nonce, device, "main").device_id)
        except ChallengeError as exc:
            codes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return wins, codes


def test_the_right_device_wins_against_concurrent_wrong_devices(
    issuer: ChallengeIssuer,
) -> None:
    devices = ["dev-1", "dev-2", "dev-3", "dev-4", "dev-5"]
    for _ in range(20):
        wins, codes = _race(issuer, issuer.issue("dev-1", "main").nonce, devices)
        assert wins == ["dev-1"]
        # Before the redeem a wrong device hears "mismatch", after it "unknown".
        assert len(codes) == len(devices) - 1
        assert set(codes) <= {"nonce_mismatch", "unknown_nonce"}


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": MAX_STEPS + 1}, "steps"),
        ({"ttl_seconds": 0.0}, "ttl_seconds"),
        ({"ttl_seconds": float("nan")}, "ttl_seconds"),
        ({"max_outstanding_per_device": 0}, "max_outstanding_per_device"),
    ],
)
def test_bad_parameters(kwargs: dict[str, float], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ChallengeIssuer(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("device", "gate", "name"), [("", "main", "device_id"), ("d", "", "gate")])
def test_issue_needs_device_and_gate(
    issuer: ChallengeIssuer, device: str, gate: str, name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        issuer.issue(device, gate)


def test_order_count_refuses_zero() -> None:
    with pytest.raises(ValueError, match="steps"):
        order_count(0)
