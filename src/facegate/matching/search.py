"""1:1 verification and 1:N identification against a subject's or a site's templates.

A subject may have several templates; the subject's best (highest) similarity counts.
A :class:`GalleryLike` is searched exactly (every template scored); a gallery that holds a
:class:`facegate.matching.index.TemplateIndex` offers :class:`IndexedGalleryLike` instead,
and ``identify`` asks it for the nearest subject (graph candidates, exact scores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from facegate.matching.decide import Decision, Outcome, decide
from facegate.matching.index import TemplateIndex
from facegate.matching.score import score

#: Templates asked of the index per search for the nearest subjects (doubled while fewer
#: than the wanted subjects turn up among them).
SUBJECT_SEARCH_TEMPLATES = 32


class GalleryLike(Protocol):
    """Templates of many subjects: ``embeddings[k]`` belongs to ``subject_ids[owners[k]]``."""

    @property
    def subject_ids(self) -> tuple[str, ...]: ...

    @property
    def embeddings(self) -> NDArray[np.float32]: ...

    @property
    def owners(self) -> NDArray[np.int64]: ...


@runtime_checkable
class IndexedGalleryLike(Protocol):
    """A gallery that searches its templates through a :class:`TemplateIndex`."""

    @property
    def subject_count(self) -> int: ...

    def nearest_subjects(self, probe: NDArray[np.floating], k: int) -> Sequence[tuple[str, float]]:
        """Up to k (subject_id, exact best similarity of that subject) pairs, best first."""
        ...


#: Searches templates: ``(probe, count) -> (keys, exact similarities)``, best first
#: (:meth:`TemplateIndex.search` or a gallery's own, e.g. one that remembers its last).
TemplateSearch = Callable[
    [NDArray[np.floating], int], tuple[NDArray[np.int64], NDArray[np.float64]]
]


def nearest_subjects(
    search: TemplateIndex | TemplateSearch,
    subject_of: Callable[[int], str],
    probe: NDArray[np.floating],
    k: int,
    *,
    skip: str | None = None,
    skipped_templates: int = 0,
) -> list[tuple[str, float]]:
    """Up to ``k`` (subject_id, best similarity) pairs, best first.

    ``subject_of`` maps a template key to its subject. A subject's best template is the first
    of its templates in the (exact, best-first) order; more templates are asked for until
    ``k`` subjects turn up or there are no more. ``skip``: a subject left out (the one
    enrolling), with ``skipped_templates`` of its templates asked for on top. The one
    helper of :class:`IndexedGalleryLike` implementations.
    """
    if k <= 0:
        return []
    find = search.search if isinstance(search, TemplateIndex) else search
    wanted = max(k, SUBJECT_SEARCH_TEMPLATES) + skipped_templates
    while True:
        keys, similarities = find(probe, wanted)
        best: dict[str, float] = {}
        for key, similarity in zip(keys.tolist(), similarities.tolist(), strict=True):
            owner = subject_of(key)
            if owner != skip:
                best.setdefault(owner, similarity)
            if len(best) == k:
                return list(best.items())
        if len(keys) < wanted:
            return list(best.items())
        wanted *= 2


@dataclass(frozen=True, slots=True)
class Verification:
    """Result of 1:1 verification. ``similarity`` never leaves the server."""

    similarity: float
    threshold: float
    decision: Decision


@dataclass(frozen=True, slots=True)
class Identification:
    """Result of 1:N identification; ``subject_id`` is None when the outcome is UNKNOWN."""

    outcome: Outcome
    subject_id: str | None
    similarity: float
    threshold: float
    gallery_subjects: int


def verify(
    probe: NDArray[np.floating], templates: NDArray[np.floating], threshold: float
) -> Verification:
    """Compare ``probe`` ``(128,)`` with one subject's ``templates`` ``(k, 128)``.

    No templates gives NO_MATCH with similarity ``-inf``.
    """
    similarities = score(probe, templates)[0]
    best = float(similarities.max()) if similarities.size else float("-inf")
    return Verification(best, threshold, decide(best, threshold))


def identify(
    probe: NDArray[np.floating], gallery: GalleryLike | IndexedGalleryLike, threshold: float
) -> Identification:
    """The gallery subject most similar to ``probe``, or UNKNOWN below ``threshold``.

    An :class:`IndexedGalleryLike` gallery is asked for its nearest subject (exact score);
    otherwise every template is scored.
    """
    if isinstance(gallery, IndexedGalleryLike):
        return _identify_indexed(probe, gallery, threshold)
    n_subjects = len(gallery.subject_ids)
    similarities = score(probe, gallery.embeddings)[0]
    if similarities.size == 0:
        return Identification(Outcome.UNKNOWN, None, float("-inf"), threshold, n_subjects)
    per_subject = np.full(n_subjects, -np.inf)
    np.maximum.at(per_subject, np.asarray(gallery.owners, dtype=np.int64), similarities)
    best = int(np.argmax(per_subject))
    best_similarity = float(per_subject[best])
    if decide(best_similarity, threshold) is Decision.MATCH:
        return Identification(
            Outcome.IDENTIFIED, gallery.subject_ids[best], best_similarity, threshold, n_subjects
        )
    return Identification(Outcome.UNKNOWN, None, best_similarity, threshold, n_subjects)


def _identify_indexed(
    probe: NDArray[np.floating], gallery: IndexedGalleryLike, threshold: float
) -> Identification:
    n_subjects = gallery.subject_count
    nearest = gallery.nearest_subjects(probe, 1)
    if not nearest:
        return Identification(Outcome.UNKNOWN, None, float("-inf"), threshold, n_subjects)
    subject_id, best_similarity = nearest[0]
    if decide(best_similarity, threshold) is Decision.MATCH:
        return Identification(
            Outcome.IDENTIFIED, subject_id, best_similarity, threshold, n_subjects
        )
    return Identification(Outcome.UNKNOWN, None, best_similarity, threshold, n_subjects)
