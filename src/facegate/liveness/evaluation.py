"""How the passive PAD recipe fails: held-out people, cameras and attack species.

Every figure is out of sample: the model that scores a presentation was trained without the
person (and, where stated, the camera or the species) it came from. The threshold is the
model's fixed 0.5, never tuned on these scores.

* :func:`nuaa_subject_disjoint`: each NUAA person scored by a model trained on the whole
  corpus minus that person (the real print attacks at hand).
* :func:`cross_camera`: each camera family (domain) scored by a model that saw nothing from
  it, neither its faces nor attacks made from them: BPCER on its original photos.
* :func:`left_out_species`: each synthetic species scored by a model that never saw it,
  on people it never saw either (two folds of people).
* :func:`pooled_folds`: every presentation scored across five folds of people, for the
  DET curve and BPCER at APCER 1% / 5%.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from facegate.bench.active import wilson_interval
from facegate.liveness.corpus import CorpusSample, Domain
from facegate.liveness.passive import DEFAULT_THRESHOLD
from facegate.liveness.synthetic import SyntheticSpecies
from facegate.liveness.training import DEFAULT_C, FeatureSet, fit

Mask = NDArray[np.bool_]
Advance = Callable[[], None] | None
#: Folds of people for the pooled out-of-sample scores.
POOLED_FOLDS = 5
#: Folds of people for the left-out-species test (train on one half, test the other).
SPECIES_FOLDS = 2


@dataclass(frozen=True, slots=True)
class Rate:
    """``errors`` of ``n`` with a Wilson 95% interval."""

    errors: int
    n: int
    rate: float
    low: float
    high: float

    @classmethod
    def of(cls, errors: int, n: int) -> Rate:
        low, high = wilson_interval(errors, n) if n else (0.0, 1.0)
        return cls(errors, n, errors / n if n else float("nan"), low, high)

    def __str__(self) -> str:
        interval = f"95% CI {100 * self.low:.1f}–{100 * self.high:.1f}%"
        return f"{100 * self.rate:.2f}% ({self.errors}/{self.n}; {interval})"


@dataclass(frozen=True, slots=True)
class HeldOut:
    """One held-out group's error rates at the model's threshold.

    ``bpcer``: bona fide refused (original photos only); ``apcer``: per attack species,
    attacks accepted as bona fide.
    """

    held_out: str
    bpcer: Rate | None
    apcer: dict[str, Rate]


def nuaa_subject_disjoint(
    data: FeatureSet[CorpusSample], c: float = DEFAULT_C, advance: Advance = None
) -> tuple[NDArray[np.float64], list[str]]:
    """Out-of-person scores and species of NUAA's own frames (live and real prints)."""
    nuaa = np.array([s.domain is Domain.NUAA and s.original for s in data.samples])
    subjects = _subjects(data)
    scores = np.zeros(len(data.samples))
    for subject in sorted(set(subjects[nuaa].tolist())):
        held = subjects == subject
        scores[held & nuaa] = _scores(data, ~held, held & nuaa, c)
        if advance is not None:
            advance()
    return scores[nuaa], [s.species for s, keep in zip(data.samples, nuaa, strict=True) if keep]


def cross_camera(
    data: FeatureSet[CorpusSample], c: float = DEFAULT_C, advance: Advance = None
) -> list[HeldOut]:
    """For each domain with bona fide photos: trained without the domain, its error rates."""
    domains = np.array([s.domain.value for s in data.samples])
    results = []
    for domain in Domain:
        held = domains == domain.value
        if not held.any() or domain is Domain.PACKAGE:
            continue
        scores = _scores(data, ~held, held, c)
        results.append(
            _held_out(domain.value, [data.samples[i] for i in np.flatnonzero(held)], scores)
        )
        if advance is not None:
            advance()
    return results


def left_out_species(
    data: FeatureSet[CorpusSample], c: float = DEFAULT_C, advance: Advance = None
) -> list[HeldOut]:
    """For each synthetic species: APCER of a model trained without it, on unseen people."""
    species = np.array(data.species)
    folds = _person_folds(data, SPECIES_FOLDS)
    results = []
    for kind in SyntheticSpecies:
        if not (species == kind.value).any():
            continue
        accepted = 0
        total = 0
        for fold in range(SPECIES_FOLDS):
            train = (folds != fold) & (species != kind.value)
            test = (folds == fold) & (species == kind.value)
            if not test.any():
                continue
            scores = _scores(data, train, test, c)
            accepted += int((scores >= DEFAULT_THRESHOLD).sum())
            total += int(test.sum())
        results.append(HeldOut(kind.value, None, {kind.value: Rate.of(accepted, total)}))
        if advance is not None:
            advance()
    return results


def pooled_folds(
    data: FeatureSet[CorpusSample], c: float = DEFAULT_C, advance: Advance = None
) -> NDArray[np.float64]:
    """Every presentation's score from the fold of people it was left out of."""
    folds = _person_folds(data, POOLED_FOLDS)
    scores = np.zeros(len(data.samples))
    for fold in range(POOLED_FOLDS):
        test = folds == fold
        if test.any():
            scores[test] = _scores(data, ~test, test, c)
        if advance is not None:
            advance()
    return scores


def _held_out(name: str, samples: Sequence[CorpusSample], scores: NDArray[np.float64]) -> HeldOut:
    accepted = scores >= DEFAULT_THRESHOLD
    originals = [i for i, s in enumerate(samples) if s.bona_fide and s.original]
    bpcer = Rate.of(int((~accepted[originals]).sum()), len(originals)) if originals else None
    apcer: dict[str, Rate] = {}
    for kind in sorted({s.species for s in samples if not s.bona_fide}):
        rows = [i for i, s in enumerate(samples) if s.species == kind]
        apcer[kind] = Rate.of(int(accepted[rows].sum()), len(rows))
    return HeldOut(name, bpcer, apcer)


def _scores(
    data: FeatureSet[CorpusSample], train: Mask, test: Mask, c: float
) -> NDArray[np.float64]:
    model = fit(data.features[train], data.bona_fide[train], data.spec, c)
    return np.array([model.score_features(row) for row in data.features[test]])


def _subjects(data: FeatureSet[CorpusSample]) -> NDArray[np.str_]:
    return np.array([s.subject for s in data.samples])


def _person_folds(data: FeatureSet[CorpusSample], folds: int) -> NDArray[np.int64]:
    """A fold per person from a hash of their name: stable, and all their samples together."""
    return np.array(
        [
            int.from_bytes(hashlib.sha256(s.subject.encode()).digest()[:4], "big") % folds
            for s in data.samples
        ]
    )
