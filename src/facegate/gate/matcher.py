"""The decider's matcher: a probe against references at a named operating point.

Scores stay inside: the decider sees a :class:`~facegate.matching.Decision` or an
identified subject, never a similarity or a threshold.
"""

from __future__ import annotations

from collections.abc import Sized
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from facegate.matching import Decision, OperatingPoint, Outcome, identify, operating_point, verify
from facegate.matching.community import DEFAULT_FPIR, identification_threshold
from facegate.matching.search import GalleryLike, IndexedGalleryLike
from facegate.models.registry import ModelRegistry

#: A gallery the matcher searches: flat (every template scored) or through an index.
AnyGallery = GalleryLike | IndexedGalleryLike


def template_count(gallery: AnyGallery) -> int:
    """How many templates ``gallery`` holds (the 1:N threshold rises with it): its length
    where it has one (``Gallery``, the store's indexed gallery), else its embeddings'."""
    if isinstance(gallery, Sized):
        return len(gallery)
    if isinstance(gallery, IndexedGalleryLike):
        raise TypeError("an indexed gallery must say how many templates it holds (len)")
    return len(gallery.embeddings)


class Matcher(Protocol):
    """What the decider asks of matching (a site's 1:N thresholds may differ from 1:1)."""

    def threshold(self, model: str, point: OperatingPoint) -> float:
        """The similarity threshold of ``point`` for ``model`` (higher is stricter)."""
        ...

    def verify(
        self,
        probe: NDArray[np.floating],
        templates: NDArray[np.floating],
        model: str,
        point: OperatingPoint,
    ) -> Decision:
        """MATCH when the subject's best template reaches the threshold; no templates is
        NO_MATCH."""
        ...

    def identify(
        self, probe: NDArray[np.floating], gallery: AnyGallery, model: str, point: OperatingPoint
    ) -> str | None:
        """The identified subject's id, or None for unknown."""
        ...


class CalibratedMatcher:
    """Thresholds from the registry's calibrated operating points (the site's signed
    calibration applied), 1:1 on the subject's best template, 1:N on the best subject.

    1:N is at least as strict as the 1:1 point, and stricter as the gallery grows: the
    threshold that keeps a stranger's chance of matching anybody at ``fpir`` among the
    gallery's templates (``matching.community``), where the model has a fitted impostor
    tail (a model without one keeps the 1:1 point).
    """

    def __init__(self, registry: ModelRegistry, fpir: float = DEFAULT_FPIR) -> None:
        self.registry = registry
        self.fpir = fpir

    def threshold(self, model: str, point: OperatingPoint) -> float:
        return operating_point(self.registry.entry(model), point).threshold

    def verify(
        self,
        probe: NDArray[np.floating],
        templates: NDArray[np.floating],
        model: str,
        point: OperatingPoint,
    ) -> Decision:
        if len(templates) == 0:
            return Decision.NO_MATCH
        return verify(probe, templates, self.threshold(model, point)).decision

    def identify(
        self, probe: NDArray[np.floating], gallery: AnyGallery, model: str, point: OperatingPoint
    ) -> str | None:
        found = identify(probe, gallery, self.identification_threshold(model, point, gallery))
        return found.subject_id if found.outcome is Outcome.IDENTIFIED else None

    def identification_threshold(
        self, model: str, point: OperatingPoint, gallery: AnyGallery
    ) -> float:
        threshold = self.threshold(model, point)
        entry = self.registry.entry(model)
        templates = template_count(gallery)
        if entry.impostor_tail is None or templates == 0:
            return threshold
        community = identification_threshold(entry, templates, self.fpir).threshold
        return max(threshold, community)
