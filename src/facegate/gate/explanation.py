"""What a face decision keeps so an auditor can later see why it went the way it did.

Only coarse facts leave this module: the margin to the threshold as a :class:`MarginBand`
and the position of the subject's best template among their usable templates (the
store turns that into the template's id). The similarity itself stays here, as it stays
in ``matching``: the audit log, the API and the devices never see a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from facegate.gate.matcher import AnyGallery, Matcher
from facegate.matching import OperatingPoint
from facegate.matching.score import score
from facegate.matching.search import GalleryLike
from facegate.store import Store
from facegate.store.audit import DetailValue
from facegate.store.decision_log import matched_template_id
from facegate.store.detail_keys import MARGIN_KEY, TEMPLATE_KEY
from facegate.store.indexed_gallery import IndexedGallery

#: Half-width of the "near" bands around the threshold, in score units (1 − euclidean
#: distance of unit embeddings). About one decade of FMR: the registry's calibrated
#: SFace points are 0.048 (1e-3 → 1e-4) and 0.041 (1e-4 → 1e-5) apart, dlib's 0.068 and
#: 0.054. A "near" decision is one that a site one decade stricter or looser would have
#: decided the other way; chosen from the registry's calibration, not from any data an
#: explanation is reported on.
NEAR_MARGIN = 0.05


class MarginBand(StrEnum):
    """How far the best similarity was from the threshold; never the similarity."""

    #: At least ``NEAR_MARGIN`` below the threshold: clearly someone else, or no one.
    FAR_BELOW = "far_below"
    #: Below, by less than ``NEAR_MARGIN``: a better capture might have matched.
    NEAR_BELOW = "near_below"
    #: At or above, by less than ``NEAR_MARGIN``: matched, but narrowly.
    NEAR_ABOVE = "near_above"
    #: At least ``NEAR_MARGIN`` above the threshold: a clear match.
    FAR_ABOVE = "far_above"


def margin_band(similarity: float, threshold: float) -> MarginBand:
    """The band of ``similarity`` against ``threshold`` (at the threshold is a match, as in
    ``matching.decide``)."""
    margin = similarity - threshold
    if margin >= NEAR_MARGIN:
        return MarginBand.FAR_ABOVE
    if margin >= 0.0:
        return MarginBand.NEAR_ABOVE
    if margin > -NEAR_MARGIN:
        return MarginBand.NEAR_BELOW
    return MarginBand.FAR_BELOW


@dataclass(frozen=True, slots=True)
class MatchExplanation:
    """The band of the decisive comparison, and which template it was (if one matched)."""

    band: MarginBand
    #: Index of the matched subject's best template among their usable templates, in the
    #: store's matching order (created, then id); None when no one matched.
    template_index: int | None = None
    #: How many usable templates the matched subject had (0 when no one matched): the
    #: store checks it still sees as many before naming the template.
    templates: int = 0
    #: The matched template's row id when the gallery carries it (the store's indexed
    #: gallery): named without reading the templates again.
    template_id: str | None = None


@runtime_checkable
class GalleryThreshold(Protocol):
    """A matcher whose 1:N threshold depends on the gallery (``CalibratedMatcher``)."""

    def identification_threshold(
        self, model: str, point: OperatingPoint, gallery: AnyGallery
    ) -> float: ...


def explain_verify(
    probe: NDArray[np.floating], templates: NDArray[np.floating], threshold: float
) -> MatchExplanation | None:
    """1:1: the band of the claimed subject's best template. None without templates."""
    if len(templates) == 0:
        return None
    similarities = score(probe, templates)[0]
    best = int(np.argmax(similarities))
    band = margin_band(float(similarities[best]), threshold)
    if band in (MarginBand.FAR_BELOW, MarginBand.NEAR_BELOW):
        return MatchExplanation(band)
    return MatchExplanation(band, best, len(templates))


def explain_identify(
    probe: NDArray[np.floating], gallery: GalleryLike, threshold: float, found: str | None
) -> MatchExplanation | None:
    """1:N: the band of the best comparison; for an identified subject ``found``, also
    which of their templates it was. None for an empty gallery. A denial does not say
    who came nearest.

    The store's indexed gallery answers from the decision's own search (no second scoring
    of the gallery) and names the template's row id; a flat gallery is scored again."""
    if isinstance(gallery, IndexedGallery):
        return _explain_indexed(probe, gallery, threshold, found)
    similarities = score(probe, gallery.embeddings)[0]
    if similarities.size == 0:
        return None
    if found is None:
        return MatchExplanation(margin_band(float(similarities.max()), threshold))
    owner = gallery.subject_ids.index(found)
    rows = np.flatnonzero(np.asarray(gallery.owners) == owner)
    best = int(np.argmax(similarities[rows]))
    return MatchExplanation(
        margin_band(float(similarities[rows[best]]), threshold), best, len(rows)
    )


def _explain_indexed(
    probe: NDArray[np.floating], gallery: IndexedGallery, threshold: float, found: str | None
) -> MatchExplanation | None:
    nearest = gallery.best_template(probe)
    if nearest is None:
        return None
    if found is None:
        return MatchExplanation(margin_band(nearest.similarity, threshold))
    if nearest.subject_id == found:
        position, similarity = nearest.position, nearest.similarity
        templates = nearest.templates
    else:
        # Identified by someone else's search (an older engine, a stand-in matcher):
        # only the subject's own few templates are scored.
        similarities = score(probe, gallery.vectors(found))[0]
        if similarities.size == 0:
            return MatchExplanation(margin_band(nearest.similarity, threshold))
        position = int(np.argmax(similarities))
        similarity, templates = float(similarities[position]), similarities.size
    return MatchExplanation(
        margin_band(similarity, threshold),
        position,
        templates,
        gallery.template_ids(found)[position],
    )


def note_match(
    detail: dict[str, DetailValue],
    store: Store,
    model: str,
    opened: str | None,
    explained: MatchExplanation | None,
) -> None:
    """Add the band, and the template that opened for ``opened``, to a decision's audit
    ``detail`` (under ``decision_log``'s keys)."""
    if explained is None:
        return
    detail[MARGIN_KEY] = explained.band.value
    if opened is None or explained.template_index is None:
        return
    if explained.template_id is not None:
        detail[TEMPLATE_KEY] = explained.template_id
        return
    template_id = matched_template_id(
        store, opened, model, explained.template_index, explained.templates
    )
    if template_id is not None:
        detail[TEMPLATE_KEY] = template_id


def decision_threshold(
    matcher: Matcher, model: str, point: OperatingPoint, gallery: AnyGallery
) -> float:
    """The threshold a 1:N decision used: the gallery's own where the matcher has one."""
    if isinstance(matcher, GalleryThreshold):
        return matcher.identification_threshold(model, point, gallery)
    return matcher.threshold(model, point)
