"""Sliding-window rate limits against brute force (PINs, codes) and matcher probing (faces).

Limits are a second line behind the per-credential lock-out, which is in the database.
Where the events are counted is a :class:`WindowStorage`: this process's memory
(:class:`MemoryWindows`, one service process) or the database shared by every worker
(``store.shared_state.SharedRateLimits``, ``facegate serve --workers N``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from facegate.errors import RateLimitedError


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    events: int
    per_seconds: float


#: A device asks at most this often; a gate sees a person every few seconds.
DEVICE_DECISIONS = Limit("device_decisions", 120, 60.0)
#: Faces per device per minute: probing the matcher with many faces is slowed down.
DEVICE_FACES = Limit("device_faces", 60, 60.0)
#: Faces per staff member per minute (console enrollments and recognition tests): the
#: console is no faster a way to probe the matcher than a gate.
STAFF_FACES = Limit("staff_faces", 60, 60.0)
#: Sign-in attempts per client address per minute.
SIGNIN_ATTEMPTS = Limit("signin_attempts", 20, 60.0)


class WindowStorage(Protocol):
    """Sliding windows of events, by limit name and key."""

    def add(self, name: str, key: str, events: int, per_seconds: float, now: float) -> float | None:
        """Count one event of ``key`` at ``now`` unless ``events`` already fall in the
        window ``(now - per_seconds, now]``: then nothing is counted and the answer is the
        seconds until the oldest of them leaves it. None: counted."""


@dataclass
class MemoryWindows:
    """Windows in this process's memory. Thread-safe."""

    _events: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, key: str, events: int, per_seconds: float, now: float) -> float | None:
        with self._lock:
            window = self._events.setdefault((name, key), deque())
            while window and window[0] <= now - per_seconds:
                window.popleft()
            if len(window) >= events:
                return window[0] + per_seconds - now
            window.append(now)
            return None


@dataclass
class RateLimiter:
    """Rate limits over ``storage``; ``clock`` must be the wall clock (``time.time``) where
    the storage is shared by several processes."""

    clock: Callable[[], float] = time.monotonic
    storage: WindowStorage = field(default_factory=MemoryWindows)

    def hit(self, limit: Limit, key: str) -> None:
        """Count one event for ``key``; ``RateLimitedError`` when over ``limit``."""
        wait = self.storage.add(limit.name, key, limit.events, limit.per_seconds, self.clock())
        if wait is not None:
            retry = max(1, math.ceil(wait))
            raise RateLimitedError(
                f"too many requests ({limit.name}); try again in {retry} s", retry
            )


class NoLimits(RateLimiter):
    """Counts nothing: ``FACEGATE_RATE_LIMITS=false`` (development only), for load
    benchmarks that measure the engine, not the limiter."""

    def hit(self, limit: Limit, key: str) -> None:
        return None
