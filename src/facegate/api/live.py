"""The live feed's in-process broker: a decision recorded by this process is published to
the console streams watching its site.

Only audit event ids travel through here; each stream reads the decision (with names) from
the store itself. Like the rate limits, it lives in one process: a second worker's
decisions reach that worker's streams only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from facegate.errors import RateLimitedError

#: Streams one staff account may hold open at once (a few tabs, not a leak); per account,
#: not per session, so signing in again does not buy more.
MAX_STREAMS_PER_SESSION = 3
#: Streams the whole process holds at most: each one is a task and a queue.
MAX_STREAMS = 64
#: Decisions a slow stream may fall behind by before the oldest are dropped.
QUEUE_SIZE = 256
#: Seconds a refused stream is told to wait before trying again.
RETRY_AFTER_S = 5


@dataclass(eq=False)
class Subscription:
    """One open stream: the site it watches and the decision ids published to it."""

    site_code: str
    session_key: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[int] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def offer(self, event_id: int) -> None:
        """Queue ``event_id`` (on the stream's loop); a full queue drops its oldest."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(event_id)


class LiveFeed:
    """Subscriptions by site, and ``publish`` for the routes that record decisions."""

    def __init__(
        self, max_per_session: int = MAX_STREAMS_PER_SESSION, max_streams: int = MAX_STREAMS
    ) -> None:
        self._max_per_session = max_per_session
        self._max_streams = max_streams
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []

    @contextmanager
    def subscribe(self, site_code: str, session_key: str) -> Iterator[Subscription]:
        """Watch ``site_code`` from the running event loop until the block ends;
        ``RateLimitedError`` when ``session_key`` (the account) already holds its streams,
        or the process all it serves."""
        subscription = Subscription(site_code, session_key, asyncio.get_running_loop())
        with self._lock:
            held = sum(1 for s in self._subscriptions if s.session_key == session_key)
            if held >= self._max_per_session:
                raise RateLimitedError(
                    f"this account already has {held} live feeds open; close one first",
                    RETRY_AFTER_S,
                )
            if len(self._subscriptions) >= self._max_streams:
                raise RateLimitedError("too many live feeds are open; try later", RETRY_AFTER_S)
            self._subscriptions.append(subscription)
        try:
            yield subscription
        finally:
            with self._lock:
                self._subscriptions.remove(subscription)

    def publish(self, site_code: str, event_id: int) -> None:
        """Tell the site's streams about decision ``event_id``; safe from any thread, and
        never fails the decision that calls it (a closed loop is skipped)."""
        with self._lock:
            watching = [s for s in self._subscriptions if s.site_code == site_code]
        for subscription in watching:
            try:
                subscription.loop.call_soon_threadsafe(subscription.offer, event_id)
            except RuntimeError:  # the stream's loop closed under it
                continue
