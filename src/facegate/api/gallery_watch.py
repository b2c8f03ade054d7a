"""Each worker drops the galleries that hold a person another worker erased (R-23).

The worker that erases a person removes them from its own cached galleries at once
(``Store.delete_subject``). Other workers of ``facegate serve --workers N`` never saw that
call: each reads every site's ``gallery_version`` on a short timer
(``FACEGATE_GALLERY_CHECK_INTERVAL_S``); where a version moved, it looks up who was erased
there since its last look and evicts the site's galleries if it holds any of them. Other
changes (an enrollment, a new notice) leave the cache alone: the next decision brings it up
to date (the cache compares versions on every read), so a change elsewhere costs no full
reload here. The timer bounds how long an erased person's decrypted templates can stay in
another worker's memory.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from facegate.store import Store
from facegate.store.schema import utcnow
from facegate.store.shared_state import GalleryVersions

logger = logging.getLogger(__name__)


#: An erasure is looked up from this long before the previous look: its ``deleted_at`` is
#: the erasing worker's clock at the start of a transaction that may commit later.
ERASURE_SLACK = timedelta(minutes=1)


class GalleryWatch:
    """The versions this worker last saw, and the evictions they call for."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._versions = GalleryVersions(store)
        self._seen: dict[str, int] | None = None
        self._looked_at = utcnow()

    def tick(self) -> list[str]:
        """Evict the galleries of every site whose version moved since the last tick and
        whose cache holds someone erased since then; returns their codes."""
        looked_at = utcnow()
        current = self._versions.read()
        seen = current if self._seen is None else self._seen
        moved = {code for code in current if seen.get(code) != current[code]}
        erased = self._versions.erased_since(moved, self._looked_at - ERASURE_SLACK)
        self._seen, self._looked_at = current, looked_at
        if not erased:
            return []
        cached = self._store.cached_subject_ids()
        evicted = sorted(
            code
            for code, subjects in erased.items()
            if not cached.isdisjoint(subjects) and self._store.evict_galleries(code) > 0
        )
        if evicted:
            logger.info(
                "evicted galleries of people erased elsewhere", extra={"sites": len(evicted)}
            )
        return evicted


async def run_gallery_watch(watch: GalleryWatch, interval_s: float) -> None:
    """:meth:`GalleryWatch.tick` every ``interval_s`` seconds, off the event loop, until
    cancelled."""
    if not interval_s > 0:
        raise ValueError(f"interval_s: must be > 0, got {interval_s}")
    while True:
        try:
            await asyncio.to_thread(watch.tick)
        except Exception:  # a store hiccup must not end the checks for good
            logger.exception("the gallery version check failed; trying again next interval")
        await asyncio.sleep(interval_s)
