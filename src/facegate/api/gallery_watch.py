"""Each worker drops from its galleries the people another worker's change concerns (R-23).

The worker that erases a person removes them from its own cached galleries at once
(``Store.delete_subject``, a consent's withdrawal). Other workers of ``facegate serve
--workers N`` never saw that call: each reads every site's ``gallery_version`` on a short
timer (``FACEGATE_GALLERY_CHECK_INTERVAL_S``); where a version moved, it reads the subjects
the site's changes name (``gallery_change``) and removes those it holds from its cached
galleries at once, to be read back at the next decision if anything of theirs is still
usable; a gallery this worker already brought up to that version is left alone. A change
that names nobody (a widening notice), more than ``MAX_UPDATED_SUBJECTS`` people or a gap
in the log drops the site's galleries. An erasure costs the one person, never a full
reload. The timer bounds how long an erased person's decrypted templates can stay in
another worker's memory.
"""

from __future__ import annotations

import asyncio
import logging

from facegate.store import Store
from facegate.store.shared_state import GalleryVersions

logger = logging.getLogger(__name__)


class GalleryWatch:
    """The versions this worker last saw, and what they call for."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._versions = GalleryVersions(store)
        self._seen: dict[str, int] | None = None

    def tick(self) -> list[str]:
        """Remove, from the galleries of every site whose version moved since the last
        tick, the subjects its changes name (or drop them all when the changes cannot say
        whom); returns the codes of the sites whose cache lost someone."""
        current = self._versions.read()
        seen = current if self._seen is None else self._seen
        moved = {
            code: (seen.get(code, 0), version)
            for code, version in current.items()
            if seen.get(code) != version
        }
        changes = self._versions.changes(moved)
        self._seen = current
        cached = self._store.cached_subject_ids()
        touched = []
        for code, subjects in sorted(changes.items()):
            if subjects is None:
                if self._store.evict_galleries(code) > 0:
                    touched.append(code)
            else:
                # Every one of them, no short cut: each is someone's face in memory.
                forgotten = [
                    self._store.forget_gallery_subject(code, subject, unless_at=current[code])
                    for subject in sorted(subjects & cached)
                ]
                if any(forgotten):
                    touched.append(code)
        if touched:
            logger.info("dropped people changed elsewhere", extra={"sites": len(touched)})
        return touched


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
