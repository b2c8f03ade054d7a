"""A site's decrypted gallery behind a template index, updated subject by subject.

``IndexedGallery`` is what ``Store.load_gallery`` hands out: it searches through a
:class:`~facegate.matching.index.TemplateIndex` keyed by int64 keys (one per template row,
mapped back to the row's id and subject), and is brought up to date in place by
``replace_subject`` / ``remove_subject`` when the site's gallery changes, so the first
decision after an enrollment or erasure decrypts only that subject's templates. It still
offers the flat ``subject_ids`` / ``embeddings`` / ``owners`` view (``GalleryLike``),
materialised on demand, for the exact paths that need it (older engines, tests).

Thread-safe: searches and updates take one lock, so a decision never sees half an update.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from facegate.matching.index import TemplateIndex
from facegate.matching.search import nearest_subjects
from facegate.store.records import EMBEDDING_DIM, Gallery

#: Subject ids a repr shows before "...".
_REPR_SUBJECTS = 20


#: The end given to a subject removed for re-reading: before any ``now``.
REREAD_AT_ONCE = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class UsableTemplate:
    """One decrypted usable template: ``vector`` is float32 of shape (128,); ``ends_at``
    the moment it stops being usable without any write (None: never)."""

    subject_id: str
    template_id: str
    vector: npt.NDArray[np.float32]
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """The best template of a search: whose it is, its row id, its similarity, and its
    position among its subject's usable templates (matching order: created, then id)."""

    subject_id: str
    template_id: str
    similarity: float
    position: int
    templates: int


class _LastSearch(threading.local):
    """This thread's last search, so the explanation reuses the decision's search."""

    generation: int = -1
    probe: bytes = b""
    keys: npt.NDArray[np.int64] = np.zeros(0, np.int64)
    similarities: npt.NDArray[np.float64] = np.zeros(0, np.float64)


class IndexedGallery:
    """Usable templates of one site for one model, searchable through an index."""

    def __init__(self, templates: Iterable[UsableTemplate] = ()) -> None:
        self._lock = threading.RLock()
        # The graph is built here, when the gallery is built outside the store's locks; a
        # gallery that outgrows exact search by updates (in a write transaction) stays
        # exhaustive until its next build.
        self._index = TemplateIndex(EMBEDDING_DIM, grow_graph=False)
        self._next_key = 0
        #: subject → its template keys, in matching order; dict order is subject order.
        self._keys: dict[str, tuple[int, ...]] = {}
        self._template_ids: dict[int, str] = {}
        self._owners: dict[int, str] = {}
        #: subject → the earliest end among its templates (subjects with one only).
        self._ends: dict[str, datetime] = {}
        self._generation = 0
        self._flat: Gallery | None = None
        self._last = _LastSearch()
        by_subject: dict[str, list[UsableTemplate]] = {}
        for template in templates:
            by_subject.setdefault(template.subject_id, []).append(template)
        self._add_many(by_subject)
        self._index.build_graph()

    def __repr__(self) -> str:
        # Ids and counts only: a gallery in a log line must not show face data.
        with self._lock:
            shown = list(self._keys)[:_REPR_SUBJECTS]
            more = ", ..." if len(self._keys) > len(shown) else ""
            return (
                f"IndexedGallery(subject_ids={tuple(shown)!r}{more}, templates={len(self._index)})"
            )

    # Updates

    def replace_subject(self, subject_id: str, templates: Sequence[UsableTemplate]) -> None:
        """Make ``templates`` (in matching order; empty: none) the subject's only ones."""
        if any(t.subject_id != subject_id for t in templates):
            raise ValueError("every template must belong to the subject replaced")
        with self._lock:
            self._remove(subject_id)
            if templates:
                self._add_many({subject_id: list(templates)})
            self._changed()

    def remove_subject(self, subject_id: str, *, reread: bool = False) -> bool:
        """Remove the subject's templates from the index and from memory (R-23); whether
        the subject had any. ``reread``: the subject counts as ended, so the next update
        reads back whatever of theirs is still usable (an erasure of some templates only,
        or one this gallery may already have re-read)."""
        with self._lock:
            marked = self._ends.get(subject_id) == REREAD_AT_ONCE
            removed = self._remove(subject_id)
            if reread and (removed or marked):
                self._ends[subject_id] = REREAD_AT_ONCE
            self._changed()
            return removed

    def _add_many(self, by_subject: dict[str, list[UsableTemplate]]) -> None:
        count = sum(len(ts) for ts in by_subject.values())
        if not count:
            return
        keys = np.arange(self._next_key, self._next_key + count, dtype=np.int64)
        vectors = np.empty((count, EMBEDDING_DIM), np.float32)
        row = 0
        for subject_id, templates in by_subject.items():
            first = row
            for template in templates:
                key = int(keys[row])
                vectors[row] = template.vector
                self._template_ids[key] = template.template_id
                self._owners[key] = subject_id
                row += 1
            self._keys[subject_id] = tuple(int(k) for k in keys[first:row])
            ends = [t.ends_at for t in templates if t.ends_at is not None]
            if ends:
                self._ends[subject_id] = min(ends)
        self._index.add(keys, vectors)
        vectors.fill(0.0)
        self._next_key += count

    def _remove(self, subject_id: str) -> bool:
        self._ends.pop(subject_id, None)
        keys = self._keys.pop(subject_id, None)
        if keys is None:
            return False
        self._index.remove(keys)
        for key in keys:
            del self._template_ids[key]
            del self._owners[key]
        return True

    def _changed(self) -> None:
        self._generation += 1
        self._flat = None

    # Time

    def ended_subjects(self, now: datetime) -> frozenset[str]:
        """Subjects with a template no longer usable at ``now`` with no write (an ended
        visit or consent, a move-out date reached): to re-read."""
        with self._lock:
            return frozenset(s for s, end in self._ends.items() if end <= now)

    def earliest_end(self) -> datetime | None:
        """The first moment one of the templates stops being usable (None: never)."""
        with self._lock:
            return min(self._ends.values(), default=None)

    # Reading

    def __len__(self) -> int:
        """How many templates (the 1:N threshold rises with it)."""
        with self._lock:
            return len(self._index)

    @property
    def subject_count(self) -> int:
        with self._lock:
            return len(self._keys)

    @property
    def subject_ids(self) -> tuple[str, ...]:
        """Subjects with at least one template (order: unspecified but stable until the
        next change)."""
        with self._lock:
            return tuple(self._keys)

    def template_ids(self, subject_id: str) -> tuple[str, ...]:
        """The subject's template row ids in matching order (empty for none)."""
        with self._lock:
            return tuple(self._template_ids[k] for k in self._keys.get(subject_id, ()))

    def vectors(self, subject_id: str) -> npt.NDArray[np.float32]:
        """The subject's templates, read-only float32 (k, 128); (0, 128) for none."""
        with self._lock:
            # Read from the index's rows: one copy of each template in memory, not two.
            found = self._index.vectors(self._keys.get(subject_id, ()))
            found.setflags(write=False)
            return found

    def flat(self) -> Gallery:
        """The whole gallery as one ``Gallery`` (every vector copied: for exact paths)."""
        with self._lock:
            if self._flat is None:
                subjects = tuple(self._keys)
                counts = [len(self._keys[s]) for s in subjects]
                embeddings = (
                    self._index.vectors(k for s in subjects for k in self._keys[s])
                    if subjects
                    else np.zeros((0, EMBEDDING_DIM), np.float32)
                )
                owners = np.repeat(np.arange(len(subjects), dtype=np.int64), counts)
                self._flat = Gallery(subjects, embeddings, owners)
            return self._flat

    @property
    def embeddings(self) -> npt.NDArray[np.float32]:
        return self.flat().embeddings

    @property
    def owners(self) -> npt.NDArray[np.int64]:
        return self.flat().owners

    def excluding(self, subject_ids: Collection[str]) -> Gallery:
        """A flat copy without these subjects' templates."""
        return self.flat().excluding(subject_ids)

    def without(self, subject_id: str) -> GalleryWithout:
        """A searchable view of this gallery without one subject (no copy)."""
        return GalleryWithout(self, subject_id)

    # Search

    def search_templates(
        self, probe: npt.NDArray[np.floating], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Up to ``k`` (template key, exact similarity), best first; the last search of
        this thread is reused for the same probe and the same gallery state."""
        vector = np.ascontiguousarray(probe, dtype=np.float32).reshape(-1)
        raw = vector.tobytes()
        last = self._last
        with self._lock:
            if last.generation == self._generation and last.probe == raw and len(last.keys) >= k:
                return last.keys[:k], last.similarities[:k]
            if last.generation == self._generation and last.probe == raw:
                k = max(k, len(last.keys))
            keys, similarities = self._index.search(vector, k)
            last.generation, last.probe = self._generation, raw
            last.keys, last.similarities = keys, similarities
            return keys, similarities

    def nearest_subjects(
        self, probe: npt.NDArray[np.floating], k: int, *, skip: str | None = None
    ) -> list[tuple[str, float]]:
        """Up to ``k`` (subject id, best similarity of that subject), best first;
        ``skip``: a subject left out."""
        with self._lock:
            return nearest_subjects(
                self.search_templates,
                self._owners.__getitem__,
                probe,
                k,
                skip=skip,
                skipped_templates=len(self._keys.get(skip or "", ())),
            )

    def best_template(self, probe: npt.NDArray[np.floating]) -> TemplateMatch | None:
        """The template most similar to ``probe`` (None for an empty gallery): from the
        same search as the last ``nearest_subjects`` of this thread for this probe."""
        with self._lock:
            keys, similarities = self.search_templates(probe, 1)
            if not len(keys):
                return None
            key = int(keys[0])
            owner = self._owners[key]
            own = self._keys[owner]
            return TemplateMatch(
                owner, self._template_ids[key], float(similarities[0]), own.index(key), len(own)
            )


class GalleryWithout:
    """An ``IndexedGallery`` seen without one subject (the enrollment guard's "others")."""

    def __init__(self, gallery: IndexedGallery, subject_id: str) -> None:
        self._gallery = gallery
        self._subject_id = subject_id

    def __len__(self) -> int:
        return len(self._gallery) - len(self._gallery.template_ids(self._subject_id))

    @property
    def subject_count(self) -> int:
        own = 1 if self._gallery.template_ids(self._subject_id) else 0
        return self._gallery.subject_count - own

    def nearest_subjects(self, probe: npt.NDArray[np.floating], k: int) -> list[tuple[str, float]]:
        return self._gallery.nearest_subjects(probe, k, skip=self._subject_id)
