"""Decrypted galleries kept in memory between gate decisions, and when they stop being valid.

An entry is valid while the site's ``gallery_version`` is the one it was built or last
brought up to date at (every write that changes usable templates bumps it and logs the
subject: enrollment, withdrawal, deletion, move-out; a widening notice logs no subject) and
until the earliest moment one of its templates stops being usable without any write (a
consent's end, a visitor's expiry, a move-out date in the future). An entry behind the
site's version, or past that moment, is brought up to date in place (``advance``) when every
change since names a subject (``store.gallery_updates``): the changed subjects and those
whose templates' end has come (``IndexedGallery.ended_subjects``) are re-read; otherwise it
is rebuilt. Erasure removes the erased
subject from the site's entries at once (``forget_subject``), so their decrypted templates
do not stay in memory until the next load (R-23).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from facegate.store.indexed_gallery import REREAD_AT_ONCE, IndexedGallery, UsableTemplate


@dataclass(slots=True)
class _Entry:
    version: int
    valid_until: datetime | None
    gallery: IndexedGallery

    def valid_at(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until


class GalleryCache:
    """Galleries by (site code, model name). Thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    def get(
        self, site_code: str, model_name: str, version: int, now: datetime
    ) -> IndexedGallery | None:
        """The cached gallery if it is at ``version`` and still valid at ``now``; else None.
        An entry past its ``valid_until`` is kept for ``advance`` to bring up to date."""
        with self._lock:
            entry = self._entries.get((site_code, model_name))
            if entry is None or entry.version != version or not entry.valid_at(now):
                return None
            return entry.gallery

    def version(self, site_code: str, model_name: str) -> int | None:
        """The version of the cached gallery, valid or past its ``valid_until`` (whatever
        the site's version is now): the version an update would start from."""
        with self._lock:
            entry = self._entries.get((site_code, model_name))
            return None if entry is None else entry.version

    def ended_subjects(self, site_code: str, model_name: str, now: datetime) -> frozenset[str]:
        """The cached gallery's subjects with a template no longer usable at ``now``: the
        subjects an update re-reads besides the changed ones."""
        with self._lock:
            entry = self._entries.get((site_code, model_name))
            return frozenset() if entry is None else entry.gallery.ended_subjects(now)

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
        now: datetime,
        subjects: Mapping[str, Sequence[UsableTemplate]],
    ) -> IndexedGallery | None:
        """Bring the entry from ``versions[0]`` to ``versions[1]`` and to ``now`` by
        replacing the ``subjects``' templates (read at ``versions[1]`` and ``now``; an empty
        list removes them): the changed subjects and every subject whose end is at or
        before ``now``. Its ``valid_until`` becomes the earliest end left. Returns the
        gallery, or None when the entry is gone, at another version, or has an ended
        subject not among ``subjects`` (the caller rebuilds). An entry already at or past
        ``versions[1]`` and valid at ``now`` is returned as it is."""
        start, end = versions
        with self._lock:
            entry = self._entries.get((site_code, model_name))
            if entry is None:
                return None
            if entry.version != start:
                valid = entry.version >= end and entry.valid_at(now)
                return entry.gallery if valid else None
            unread = entry.gallery.ended_subjects(now) - subjects.keys()
            # One forgotten meanwhile (no templates left here, marked to be read back)
            # stays marked for the next load; one still holding templates is stale.
            if any(entry.gallery.template_ids(subject) for subject in unread):
                return None
            # Under the cache lock: two threads cannot both apply an update to one entry.
            for subject_id, templates in subjects.items():
                entry.gallery.replace_subject(subject_id, templates)
            entry.version = end
            entry.valid_until = entry.gallery.earliest_end()
            return entry.gallery

    def forget_subject(
        self, site_code: str, subject_id: str, *, unless_at: int | None = None
    ) -> int:
        """Remove one subject's templates from the site's entries at once (an erasure,
        R-23) and have the next load read back what of theirs is still usable (an erasure
        may leave templates under another consent); returns from how many entries.
        ``unless_at``: entries already at this gallery version or later are left alone
        (they read the subject back under the write lock after the change)."""
        forgotten = 0
        with self._lock:
            for key, entry in self._entries.items():
                if key[0] != site_code:
                    continue
                if unless_at is not None and entry.version >= unless_at:
                    continue
                if entry.gallery.remove_subject(subject_id, reread=True):
                    entry.valid_until = REREAD_AT_ONCE
                    forgotten += 1
        return forgotten

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
