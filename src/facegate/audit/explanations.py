"""Explanations (issue 15, item 7): how often each margin band occurs at the door's
operating point, for genuine and impostor comparisons of the audit's labelled faces.

An auditor reading "near below" or "near above" in a decision's explanation can then say
how unusual that is. Uses the runtime's own band (``gate.explanation.margin_band``) and the
project's one score, never a second definition. Impostor pairs are sampled (seeded) when
there are more than ``max_impostor_pairs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from facegate.audit.data import AuditData
from facegate.audit.stats import Rate
from facegate.gate.explanation import NEAR_MARGIN, MarginBand, margin_band

#: Impostor comparisons sampled by default: enough for a 95% interval of about ±0.7% on a
#: band share near 50%.
DEFAULT_IMPOSTOR_PAIRS = 20_000


@dataclass(frozen=True, slots=True)
class BandShares:
    """How many of ``n`` comparisons fell in each band."""

    n: int
    counts: dict[MarginBand, int]

    def rate(self, band: MarginBand) -> Rate:
        return Rate(self.counts.get(band, 0), self.n)

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "bands": {
                band.value: {"rate": self.rate(band).value, "ci95": list(self.rate(band).ci95)}
                for band in MarginBand
            },
        }


def explanation_bands(
    data: AuditData, *, max_impostor_pairs: int = DEFAULT_IMPOSTOR_PAIRS, seed: int = 0
) -> dict[str, object]:
    """The share of genuine (every same-person pair) and impostor (sampled different-person
    pairs) comparisons in each margin band at ``data.threshold``, with 95% Wilson
    intervals, for ``security.json``."""
    samples = data.samples
    genuine = [
        (a, b)
        for a, b in combinations(range(len(samples)), 2)
        if samples[a].identity == samples[b].identity
    ]
    rng = np.random.default_rng(seed)
    impostor: set[tuple[int, int]] = set()
    different = len(samples) * (len(samples) - 1) // 2 - len(genuine)
    wanted = min(max_impostor_pairs, different)
    while len(impostor) < wanted:
        a, b = sorted(int(i) for i in rng.choice(len(samples), size=2, replace=False))
        if samples[a].identity != samples[b].identity:
            impostor.add((a, b))

    def shares(pairs: list[tuple[int, int]]) -> BandShares:
        counts: dict[MarginBand, int] = {}
        for a, b in pairs:
            similarity = data.score(samples[a].embedding, samples[b].embedding)
            band = margin_band(similarity, data.threshold)
            counts[band] = counts.get(band, 0) + 1
        return BandShares(len(pairs), counts)

    return {
        "operating_point": data.point.value,
        "near_margin": NEAR_MARGIN,
        "genuine": shares(genuine).to_json(),
        "impostor": shares(sorted(impostor)).to_json(),
    }
