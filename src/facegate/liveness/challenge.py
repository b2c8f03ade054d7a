"""Challenges for active liveness: a random order of head movements bound to a nonce.

The server issues a :class:`ChallengeTicket` per attempt; the gate device shows its steps,
records frames, and sends them back with the nonce. :meth:`ChallengeIssuer.redeem` hands
the ticket back exactly once, within its time window, to the device and gate it was issued
to; another device's answer is refused without spending it. A recorded video only passes
if it happens to follow this attempt's random order.

>>> issuer = ChallengeIssuer()
>>> ticket = issuer.issue("device-1", "main")
>>> len(ticket.steps)
3
>>> issuer.redeem(ticket.nonce, "device-1", "main") == ticket
True
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from random import Random
from typing import Protocol

from facegate.errors import PolicyError

#: Steps per challenge. With 3 kinds and no step equal to the one before, there are
#: 3 · 2^(steps-1) orders: 12 for 3 steps, so a single replayed recording follows a random
#: order 1 time in 12 (see :func:`order_count`).
DEFAULT_STEPS = 3
#: The most steps one challenge may ask for: each step takes the person a second or two.
MAX_STEPS = 6
#: Seconds from issue to redeem: enough for 3 movements and the upload, short enough that a
#: relayed challenge cannot be answered by someone preparing a replay at leisure.
DEFAULT_TTL_SECONDS = 30.0
#: Outstanding tickets kept per device; issuing one more drops that device's oldest.
#: A kiosk has one attempt in flight; a few cover retries after lost responses.
MAX_OUTSTANDING_PER_DEVICE = 4
#: An expired ticket is kept this much longer so that a late answer gets "expired_nonce"
#: (the kiosk says "too slow, try again") rather than "unknown_nonce".
EXPIRED_GRACE_SECONDS = 60.0
#: Bytes of randomness in a nonce (``secrets.token_urlsafe``): 192 bits, 32 characters.
NONCE_BYTES = 24


class Challenge(StrEnum):
    """One movement asked of the person. Values are stable codes for clients.

    Left and right are the subject's own: TURN_LEFT means turning the head towards their
    own left shoulder, which in an un-mirrored camera frame moves the nose towards the
    image's right. Blinking is not offered: dlib's 5-point landmarks (eye corners and nose
    base) have no eyelid points, so an eye closure cannot be measured.
    """

    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    COME_CLOSER = "come_closer"


class ChallengeErrorCode(StrEnum):
    """Why a nonce was refused. An unknown nonce and a reused one read the same on purpose:
    a client learns nothing about which nonces were ever issued."""

    UNKNOWN_NONCE = "unknown_nonce"
    EXPIRED_NONCE = "expired_nonce"
    NONCE_MISMATCH = "nonce_mismatch"


class ChallengeError(PolicyError):
    """A challenge answer that cannot be accepted; ``code`` is a :class:`ChallengeErrorCode`.

    Derives from :class:`~facegate.errors.PolicyError`, which the web service answers with
    409 Conflict: the request is well formed but conflicts with the challenge's state (used,
    expired, or issued elsewhere). The kiosk's remedy is the same for every code: ask for a
    new challenge, or use the non-face credential.
    """

    def __init__(self, code: ChallengeErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = ChallengeErrorCode(code).value


@dataclass(frozen=True, slots=True)
class ChallengeTicket:
    """One attempt's challenge.

    Attributes:
        nonce: URL-safe random token naming the attempt (single use).
        steps: the movements, in the order they must be done.
        device_id: the gate device it was issued to.
        gate: the gate (code) it was issued for.
        issued_at, expires_at: times on the issuer's clock (seconds; monotonic by default).
    """

    nonce: str
    steps: tuple[Challenge, ...]
    device_id: str
    gate: str
    issued_at: float
    expires_at: float

    @property
    def ttl_seconds(self) -> float:
        return self.expires_at - self.issued_at


def order_count(steps: int) -> int:
    """How many orders :class:`ChallengeIssuer` can draw for ``steps`` steps: 3 · 2^(steps-1).

    >>> [order_count(n) for n in (1, 2, 3, 4)]
    [3, 6, 12, 24]
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    kinds = len(Challenge)
    return int(kinds * (kinds - 1) ** (steps - 1))


class TicketStorage(Protocol):
    """Where outstanding tickets are kept: this process's memory (:class:`MemoryTickets`)
    or the database, shared by every worker (``store.shared_state.SharedChallenges``)."""

    def put(self, ticket: ChallengeTicket, *, keep_per_device: int, forget_before: float) -> None:
        """Keep ``ticket``; drop its device's oldest beyond ``keep_per_device`` and every
        ticket that expired at or before ``forget_before``."""

    def take(self, nonce: str, device_id: str, gate: str) -> ChallengeTicket:
        """Remove and return the ticket named ``nonce``, exactly once even when callers race.

        Raises:
            ChallengeError: ``unknown_nonce`` (absent) or ``nonce_mismatch`` (issued to
                another device or gate; the ticket stays).
        """

    def __len__(self) -> int:
        """Tickets held."""


def unknown_nonce() -> ChallengeError:
    return ChallengeError(
        ChallengeErrorCode.UNKNOWN_NONCE, "unknown or already used challenge: ask for a new one"
    )


def nonce_mismatch() -> ChallengeError:
    return ChallengeError(
        ChallengeErrorCode.NONCE_MISMATCH, "the challenge was issued to another device or gate"
    )


class MemoryTickets:
    """Tickets in this process's memory: one service process. Thread-safe, bounded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Insertion order is issue order, and every ticket lives equally long, so the
        # oldest (first) tickets are the first to expire.
        self._tickets: OrderedDict[str, ChallengeTicket] = OrderedDict()
        self._by_device: dict[str, list[str]] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._tickets)

    def put(self, ticket: ChallengeTicket, *, keep_per_device: int, forget_before: float) -> None:
        with self._lock:
            self._purge(forget_before)
            self._tickets[ticket.nonce] = ticket
            nonces = self._by_device.setdefault(ticket.device_id, [])
            nonces.append(ticket.nonce)
            while len(nonces) > keep_per_device:
                self._tickets.pop(nonces.pop(0), None)

    def take(self, nonce: str, device_id: str, gate: str) -> ChallengeTicket:
        with self._lock:
            ticket = self._tickets.get(nonce)
            if ticket is None:
                raise unknown_nonce()
            if ticket.device_id != device_id or ticket.gate != gate:
                raise nonce_mismatch()
            del self._tickets[nonce]
            self._forget(ticket)
            return ticket

    def _purge(self, forget_before: float) -> None:
        while self._tickets:
            oldest = next(iter(self._tickets.values()))
            if oldest.expires_at > forget_before:
                break
            del self._tickets[oldest.nonce]
            self._forget(oldest)

    def _forget(self, ticket: ChallengeTicket) -> None:
        nonces = self._by_device.get(ticket.device_id)
        if nonces is None:
            return
        if ticket.nonce in nonces:
            nonces.remove(ticket.nonce)
        if not nonces:
            del self._by_device[ticket.device_id]


class ChallengeIssuer:
    """Issues and redeems challenge tickets; thread-safe, with bounded memory.

    Args:
        steps: movements per challenge (1 to :data:`MAX_STEPS`).
        ttl_seconds: how long a ticket can be redeemed after issue.
        clock: seconds, non-decreasing (``time.monotonic``; a fake one in tests). With
            ``storage`` shared by several processes it must be the wall clock
            (``time.time``), the one clock they share.
        rng: source of the random order (``secrets.SystemRandom()``; seeded in tests).
        max_outstanding_per_device: tickets kept per device; the oldest is dropped.
        storage: where tickets are kept; default this process's memory.

    Raises:
        ValueError: a parameter is out of range (the message names it).
    """

    def __init__(
        self,
        steps: int = DEFAULT_STEPS,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        rng: Random | None = None,
        *,
        max_outstanding_per_device: int = MAX_OUTSTANDING_PER_DEVICE,
        storage: TicketStorage | None = None,
    ) -> None:
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
        if not ttl_seconds > 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        if max_outstanding_per_device < 1:
            raise ValueError(
                f"max_outstanding_per_device must be at least 1, got {max_outstanding_per_device}"
            )
        self.steps = steps
        self.ttl_seconds = float(ttl_seconds)
        self.clock = clock
        self.rng: Random = rng if rng is not None else secrets.SystemRandom()
        self.max_outstanding_per_device = max_outstanding_per_device
        self.storage: TicketStorage = storage if storage is not None else MemoryTickets()
        self._rng_lock = threading.Lock()

    def __len__(self) -> int:
        """Tickets held (outstanding, plus expired ones still within the grace period)."""
        return len(self.storage)

    def issue(self, device_id: str, gate: str) -> ChallengeTicket:
        """A new ticket with a random order of steps, no step equal to the one before."""
        if not device_id:
            raise ValueError("device_id must not be empty")
        if not gate:
            raise ValueError("gate must not be empty")
        now = self.clock()
        with self._rng_lock:
            steps = self._draw_steps()
        ticket = ChallengeTicket(
            nonce=secrets.token_urlsafe(NONCE_BYTES),
            steps=steps,
            device_id=device_id,
            gate=gate,
            issued_at=now,
            expires_at=now + self.ttl_seconds,
        )
        self.storage.put(
            ticket,
            keep_per_device=self.max_outstanding_per_device,
            forget_before=now - EXPIRED_GRACE_SECONDS,
        )
        return ticket

    def redeem(self, nonce: str, device_id: str, gate: str) -> ChallengeTicket:
        """The ticket named ``nonce``, removed so that it can never be redeemed again.

        An answer from another device or for another gate is refused and leaves the ticket
        as it was: a nonce relayed to (or guessed by) a wrong device must not spend the
        attempt of the person at the right one. An expired ticket is consumed by its
        refusal; so is a redeemed one, which then reads as never issued. Of two workers
        redeeming the same nonce at once, exactly one gets the ticket.

        Raises:
            ChallengeError: ``unknown_nonce`` (never issued, already redeemed, or dropped),
                ``nonce_mismatch`` (issued to another device or gate; still redeemable
                there), ``expired_nonce`` (past ``expires_at``).
        """
        # The device is checked before expiry, so a wrong device learns nothing of the
        # ticket's timing and changes nothing.
        ticket = self.storage.take(nonce, device_id, gate)
        now = self.clock()
        if now >= ticket.expires_at:
            raise ChallengeError(
                ChallengeErrorCode.EXPIRED_NONCE,
                f"the challenge expired ({ticket.ttl_seconds:g} s to answer): ask for a new one",
            )
        return ticket

    def _draw_steps(self) -> tuple[Challenge, ...]:
        kinds = list(Challenge)
        steps = [self.rng.choice(kinds)]
        while len(steps) < self.steps:
            steps.append(self.rng.choice([k for k in kinds if k is not steps[-1]]))
        return tuple(steps)
