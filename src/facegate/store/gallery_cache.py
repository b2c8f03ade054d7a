"""Decrypted galleries kept in memory between gate decisions, and when they stop being valid.

An entry is valid while the site's ``gallery_version`` is the one it was built or last
brought up to date at (every write that changes usable templates bumps it and logs the
subject: enrollment, withdrawal, deletion, move-out; a widening notice logs no subject) and
until the earliest moment one of its templates stops being usable without any write (a
consent's end, a visitor's expiry, a move-out date in the future). An entry behind the
site's version is brought up to date in place (``advance``) when every change since names a
subject (``store.gallery_updates``); otherwise it is rebuilt. Erasure removes the erased
subject from the site's entries at once (``forget_subject``), so their decrypted templates
do not stay in memory until the next load (R-23).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from facegate.store.indexed_gallery import IndexedGallery, UsableTemplate


@dataclass(slots=True)
class _Entry:
    version: int
    valid_until: datetime | None
    gallery: IndexedGallery

    def valid_at(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


class GalleryCache:
    """Galleries by (site code, model name). Thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def get(
        self, site_code: str, model_name: str, version: int, now: datetime
    ) -> IndexedGallery | None:
        """The cached gallery if it is at ``version`` and still valid at ``now``; else None
        (and an entry past its ``valid_until`` is dropped)."""
        entry = self._valid(site_code, model_name, now)
        return entry.gallery if entry is not None and entry.version == version else None

    def version(self, site_code: str, model_name: str, now: datetime) -> int | None:
        """The version of the cached gallery, if one is still valid at ``now`` (whatever
        the site's version is now): the version an update would start from."""
        entry = self._valid(site_code, model_name, now)
        return None if entry is None else entry.version

    def _valid(self, site_code: str, model_name: str, now: datetime) -> _Entry | None:
        key = (site_code, model_name)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.valid_at(now):
                return entry
            del self._entries[key]
            return None

    def put(
        self,
        site_code: str,
        model_name: str,
        version: int,
        valid_until: datetime | None,
        gallery: IndexedGallery,
    ) -> None:
        with self._lock:
            self._entries[(site_code, model_name)] = _Entry(version, valid_until, gallery)

    def advance(
        self,
        site_code: str,
        model_name: str,
        versions: tuple[int, int],
        valid_until: datetime | None,
        subjects: Mapping[str, Sequence[UsableTemplate]],
    ) -> IndexedGallery | None:
        """Bring the entry from ``versions[0]`` to ``versions[1]`` by replacing the changed
        ``subjects``' templates (read at ``versions[1]``; an empty list removes them);
        ``valid_until`` is the earliest end among those templates. Returns the gallery, or
        None when the entry is gone or at another version (the caller rebuilds). An entry
        already at or past ``versions[1]`` is returned as it is."""
        start, end = versions
        with self._lock:
            entry = self._entries.get((site_code, model_name))
            if entry is None:
                return None
            if entry.version >= end:
                return entry.gallery
            if entry.version != start:
                return None
            # Under the cache lock: two threads cannot both apply an update to one entry.
            for subject_id, templates in subjects.items():
                entry.gallery.replace_subject(subject_id, templates)
            entry.version = end
            entry.valid_until = _earliest(entry.valid_until, valid_until)
            return entry.gallery

    def forget_subject(self, site_code: str, subject_id: str) -> int:
        """Remove one subject's templates from the site's entries (an erasure, R-23);
        returns from how many entries."""
        with self._lock:
            return sum(
                entry.gallery.remove_subject(subject_id)
                for key, entry in self._entries.items()
                if key[0] == site_code
            )

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
