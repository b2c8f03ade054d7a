"""Decrypted galleries kept in memory between gate decisions, and when they stop being valid.

An entry is valid while the site's ``gallery_version`` is the one it was built at (every
write that changes usable templates bumps it: enrollment, withdrawal, deletion, move-out, a
widening notice) and until the earliest moment one of its templates stops being usable
without any write (a consent's end, a visitor's expiry, a move-out date in the future).
Erasure also evicts the site's entries at once, so decrypted templates of an erased subject
do not stay in memory until the next load (R-23).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from facegate.store.records import Gallery


@dataclass(frozen=True, slots=True)
class _Entry:
    version: int
    valid_until: datetime | None
    gallery: Gallery


class GalleryCache:
    """Galleries by (site code, model name). Thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def get(self, site_code: str, model_name: str, version: int, now: datetime) -> Gallery | None:
        """The cached gallery if it is still valid at ``version`` and ``now``; else None
        (and a stale entry is dropped)."""
        key = (site_code, model_name)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.version == version and (entry.valid_until is None or now < entry.valid_until):
                return entry.gallery
            del self._entries[key]
            return None

    def put(
        self,
        site_code: str,
        model_name: str,
        version: int,
        valid_until: datetime | None,
        gallery: Gallery,
    ) -> None:
        with self._lock:
            self._entries[(site_code, model_name)] = _Entry(version, valid_until, gallery)

    def evict(self, site_code: str | None = None) -> int:
        """Drop the site's entries (every entry when None); returns how many."""
        with self._lock:
            keys = [key for key in self._entries if site_code is None or key[0] == site_code]
            for key in keys:
                del self._entries[key]
            return len(keys)

    def subject_ids(self) -> frozenset[str]:
        """Every subject with a template in some cached gallery (to check erasure reached
        the cache)."""
        with self._lock:
            return frozenset(
                subject_id
                for entry in self._entries.values()
                for subject_id in entry.gallery.subject_ids
            )

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
