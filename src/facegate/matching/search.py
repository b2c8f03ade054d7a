"""1:1 verification and 1:N identification against a subject's or a site's templates.

A subject may have several templates; the subject's best (highest) similarity counts.
Search is exact (every template is scored); a later issue adds an index for large sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from facegate.matching.decide import Decision, Outcome, decide
from facegate.matching.score import score


class GalleryLike(Protocol):
    """Templates of many subjects: ``embeddings[k]`` belongs to ``subject_ids[owners[k]]``."""

    @property
    def subject_ids(self) -> tuple[str, ...]: ...

    @property
    def embeddings(self) -> NDArray[np.float32]: ...

    @property
    def owners(self) -> NDArray[np.int64]: ...


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


def identify(probe: NDArray[np.floating], gallery: GalleryLike, threshold: float) -> Identification:
    """The gallery subject most similar to ``probe``, or UNKNOWN below ``threshold``."""
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
