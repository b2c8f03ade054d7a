"""What the face decider keeps for an explanation: a coarse band, never the score, and which
of the matched person's templates it was; and a word for every code it can answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from facegate.api.i18n import STRINGS
from facegate.gate.explanation import (
    NEAR_MARGIN,
    MarginBand,
    explain_identify,
    explain_verify,
    margin_band,
)
from facegate.liveness.active import ActiveReason
from facegate.liveness.challenge import ChallengeErrorCode
from facegate.liveness.passive import PassiveReason
from facegate.matching import OperatingPoint
from facegate.matching.index import TemplateIndex
from facegate.matching.search import identify
from facegate.store.decision_log import TemplateState
from facegate.store.indexed_gallery import IndexedGallery, UsableTemplate
from facegate.store.records import Gallery
from facegate.vision.record import QualityReason
from tests.store.helpers import random_embeddings

THRESHOLD = -0.08


@pytest.mark.parametrize(
    ("margin", "band"),
    [
        (NEAR_MARGIN, MarginBand.FAR_ABOVE),
        (NEAR_MARGIN / 2, MarginBand.NEAR_ABOVE),
        (0.0, MarginBand.NEAR_ABOVE),  # at the threshold is a match (matching.decide)
        (-NEAR_MARGIN / 2, MarginBand.NEAR_BELOW),
        (-NEAR_MARGIN, MarginBand.FAR_BELOW),
        (-1.5, MarginBand.FAR_BELOW),
    ],
)
def test_band_edges(margin: float, band: MarginBand) -> None:
    assert margin_band(THRESHOLD + margin, THRESHOLD) is band


def test_verify_names_the_best_template_only_when_it_matches() -> None:
    probe, near, far = random_embeddings(3, seed=1)
    templates = np.stack([far, probe, near])
    matched = explain_verify(probe, templates, THRESHOLD)
    assert matched is not None
    assert (matched.band, matched.template_index, matched.templates) == (
        MarginBand.FAR_ABOVE, 1, 3,
    )  # fmt: skip
    missed = explain_verify(probe, np.stack([far, near]), THRESHOLD)
    assert missed is not None
    assert missed.band is MarginBand.FAR_BELOW
    assert missed.template_index is None
    assert explain_verify(probe, np.empty((0, 128), np.float32), THRESHOLD) is None


def test_identify_finds_the_subjects_own_template_among_interleaved_rows() -> None:
    vectors = random_embeddings(5, seed=2)
    # Rows: a, b, a, b, a; the probe is b's second template.
    gallery = Gallery(("a", "b"), np.stack(vectors), np.array([0, 1, 0, 1, 0]))
    found = explain_identify(vectors[3], gallery, THRESHOLD, "b")
    assert found is not None
    assert (found.band, found.template_index, found.templates) == (MarginBand.FAR_ABOVE, 1, 2)
    # A denial says how near the best came, not whose it was.
    (stranger,) = random_embeddings(1, seed=9)
    denied = explain_identify(stranger, gallery, THRESHOLD, None)
    assert denied is not None
    assert denied.template_index is None
    empty = Gallery((), np.empty((0, 128), np.float32), np.empty(0, np.int64))
    assert explain_identify(stranger, empty, THRESHOLD, None) is None


def test_an_indexed_gallery_explains_from_the_decisions_own_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vectors = random_embeddings(5, seed=2)
    owners = ["a", "b", "a", "b", "a"]
    gallery = IndexedGallery(
        UsableTemplate(owner, f"t{k}", vector)
        for k, (owner, vector) in enumerate(zip(owners, vectors, strict=True))
    )
    searches: list[int] = []
    search = TemplateIndex.search

    def counted(index: TemplateIndex, probe: NDArray[np.floating], k: int) -> Any:
        searches.append(k)
        return search(index, probe, k)

    monkeypatch.setattr(TemplateIndex, "search", counted)
    found = identify(vectors[3], gallery, THRESHOLD)
    assert found.subject_id == "b"
    explained = explain_identify(vectors[3], gallery, THRESHOLD, "b")
    assert explained is not None
    assert (explained.band, explained.template_index, explained.templates) == (
        MarginBand.FAR_ABOVE, 1, 2,
    )  # fmt: skip
    assert explained.template_id == "t3"
    assert len(searches) == 1, "the explanation reused the decision's search"
    # Identified by another path (an older engine): only the subject's own templates.
    other = explain_identify(vectors[3], gallery, THRESHOLD, "a")
    assert other is not None
    assert (other.template_index, other.templates, other.template_id) == (
        int(np.argmax([float(np.dot(vectors[3], vectors[k])) for k in (0, 2, 4)])), 3,
        ("t0", "t2", "t4")[other.template_index or 0],
    )  # fmt: skip
    (stranger,) = random_embeddings(1, seed=9)
    denied = explain_identify(stranger, gallery, THRESHOLD, None)
    assert denied is not None
    assert (denied.template_index, denied.template_id) == (None, None)
    assert explain_identify(stranger, IndexedGallery(), THRESHOLD, None) is None


def test_every_code_an_explanation_answers_has_words() -> None:
    liveness = (
        ["skipped", "passive_swap_boundary", "active_ok"]
        + [reason.value for reason in PassiveReason]
        + [f"active_{reason.value}" for reason in ActiveReason if reason is not ActiveReason.OK]
        + [code.value for code in ChallengeErrorCode]
    )
    keys = (
        [f"xp_band_{band.value}" for band in MarginBand]
        + [f"xp_quality_{reason.value}" for reason in QualityReason]
        + [f"xp_liveness_{code}" for code in liveness]
        + [f"xp_point_{point.value}" for point in OperatingPoint]
        + [f"xp_template_{TemplateState.ERASED.value}"]
    )
    missing = [key for key in keys if key not in STRINGS]
    assert missing == []
    assert all(zh and en for zh, en in (STRINGS[key] for key in keys))
