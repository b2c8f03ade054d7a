"""Sliding-window rate limits against brute force (PINs, codes) and matcher probing (faces).

In memory, per process: a gate site runs one service process; limits are a second line
behind the per-credential lock-out, which is in the database.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass
class RateLimiter:
    clock: Callable[[], float] = time.monotonic
    _events: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, limit: Limit, key: str) -> None:
        """Count one event for ``key``; ``RateLimitedError`` when over ``limit``."""
        now = self.clock()
        with self._lock:
            window = self._events.setdefault((limit.name, key), deque())
            while window and window[0] <= now - limit.per_seconds:
                window.popleft()
            if len(window) >= limit.events:
                retry = max(1, math.ceil(window[0] + limit.per_seconds - now))
                raise RateLimitedError(
                    f"too many requests ({limit.name}); try again in {retry} s", retry
                )
            window.append(now)
