"""Open-set 1:N identification metrics (ISO/IEC 19795-1 terms, as NIST FRVT 1:N reports them).

Protocol (``facegate bench identification``): identities with at least
:data:`MIN_PHOTOS_TO_ENROL` photos are shuffled with a seed and half of them are enrolled;
every photo of the other half (and of anyone with fewer photos) is a *non-mated* probe, a
stranger at the gate. An enrolled person's first ``templates_per_person`` photos (in a
seeded order, among those with a face) are the gallery; the rest are *mated* probes.

* FPIR(t): fraction of non-mated probes whose top candidate scores ``>= t``.
* FNIR(t): fraction of mated probes whose own identity is not the top candidate at
  ``>= t`` (wrong person on top, or right person below threshold).
* Rank-1 rate: fraction of mated probes whose own identity is the top candidate, at any
  score (no threshold).

A probe that failed to acquire scores ``-inf``: a mated one is a miss, a non-mated one a
correct rejection; both stay in the denominators (as in :mod:`facegate.bench.metrics`).
Ties for the top candidate count against the mated probe (conservative).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from facegate.bench.acquire import Acquisition
from facegate.bench.datasets import LabelledImage
from facegate.bench.metrics import ErrorCurve, error_rates, fnmr_at_fmr
from facegate.bench.report import JSON_FIELD
from facegate.errors import DatasetError
from facegate.matching.score import score
from facegate.vision.record import EMBEDDING_DIM

#: One photo to enrol and at least one left to probe with.
MIN_PHOTOS_TO_ENROL = 2
#: The gallery protocols: templates enrolled per person.
TEMPLATES_PER_PERSON = (1, 3)
#: The false positive identification rates FNIR is reported at.
REPORTED_FPIRS = (0.1, 0.01)


@dataclass(frozen=True, slots=True)
class IdentitySplit:
    """Which identities are enrolled and which only ever come as strangers (sorted names)."""

    enrolled: tuple[str, ...]
    non_mated: tuple[str, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Protocol:
    """Indices into the image list of one gallery protocol.

    ``gallery``/``gallery_owner``: template images and their person (index into ``people``);
    ``mated``/``mated_owner``: mated probe images and their true person; ``non_mated``:
    stranger images. ``people_left_out`` counts enrolled identities with too few photos
    with a face for this many templates per person.
    """

    templates_per_person: int
    people: tuple[str, ...]
    gallery: NDArray[np.intp]
    gallery_owner: NDArray[np.intp]
    mated: NDArray[np.intp]
    mated_owner: NDArray[np.intp]
    non_mated: NDArray[np.intp]
    people_left_out: int


@dataclass(frozen=True, slots=True)
class IdentificationRow:
    """FNIR at one target FPIR for one protocol: one row of ``identification.json``.

    ``threshold`` is the smallest score whose FPIR on the non-mated probes does not exceed
    ``fpir`` (``fpir_measured``); ``resolvable`` is False when there are fewer than
    ``1 / fpir`` non-mated probes, so the threshold rests on the top stranger alone.
    """

    templates_per_person: int
    fpir: float
    fnir: float
    threshold: float
    fpir_measured: float
    resolvable: bool
    gallery_people: int
    people_left_out: int
    n_mated: int
    n_nonmated: int
    rank1: float


@dataclass(frozen=True, slots=True)
class ProtocolScores:
    """Per-probe outcomes of one protocol, all float64 of shape ``(n,)``.

    ``mated_hit``: the own identity's score where it is the top candidate, else ``-inf``.
    ``non_mated_top``: the top candidate's score of each stranger.
    """

    mated_hit: NDArray[np.float64]
    non_mated_top: NDArray[np.float64]
    curve: ErrorCurve = field(repr=False, compare=False, metadata={JSON_FIELD: False})


def split_identities(
    images: Sequence[LabelledImage], seed: int, min_photos: int = MIN_PHOTOS_TO_ENROL
) -> IdentitySplit:
    """Enrol half (rounded down) of the identities with ``>= min_photos`` photos, drawn
    with ``seed``; everyone else is a stranger.

    Raises:
        DatasetError: fewer than two identities with enough photos (nobody to enrol, or
            nobody left as a stranger).
    """
    counts: dict[str, int] = {}
    for image in images:
        counts[image.identity] = counts.get(image.identity, 0) + 1
    eligible = sorted(name for name, n in counts.items() if n >= min_photos)
    if len(eligible) < 2:
        raise DatasetError(
            f"identification needs at least 2 people with {min_photos}+ photos, "
            f"found {len(eligible)}"
        )
    order = np.random.default_rng(seed).permutation(len(eligible))
    enrolled = {eligible[k] for k in order[: len(eligible) // 2]}
    return IdentitySplit(
        enrolled=tuple(sorted(enrolled)),
        non_mated=tuple(sorted(set(counts) - enrolled)),
    )


def build_protocol(
    images: Sequence[LabelledImage],
    acquired: NDArray[np.bool_],
    split: IdentitySplit,
    templates_per_person: int,
    seed: int,
) -> Protocol:
    """The gallery, mated and non-mated probes for ``templates_per_person``.

    ``acquired[k]`` says whether ``images[k]`` has a face; templates are only taken from
    those (an operator retakes a failed enrolment photo), probes are taken either way.
    The seeded photo order per person is the same for every ``templates_per_person``, so
    the 3-template gallery holds the 1-template one.
    """
    if templates_per_person < 1:
        raise ValueError(f"templates_per_person must be >= 1, got {templates_per_person}")
    rng = np.random.default_rng(seed)
    by_person: dict[str, list[int]] = {}
    for k, image in enumerate(images):
        by_person.setdefault(image.identity, []).append(k)
    people: list[str] = []
    gallery: list[int] = []
    gallery_owner: list[int] = []
    mated: list[int] = []
    mated_owner: list[int] = []
    left_out = 0
    for name in split.enrolled:
        photos = [by_person[name][k] for k in rng.permutation(len(by_person[name]))]
        usable = [k for k in photos if acquired[k]][:templates_per_person]
        if len(usable) < templates_per_person or len(photos) == len(usable):
            left_out += 1  # too few photos with a face, or none left to probe with
            continue
        owner = len(people)
        people.append(name)
        gallery += usable
        gallery_owner += [owner] * len(usable)
        probes = [k for k in photos if k not in usable]
        mated += probes
        mated_owner += [owner] * len(probes)
    strangers = set(split.non_mated)
    non_mated = [k for k, image in enumerate(images) if image.identity in strangers]
    return Protocol(
        templates_per_person=templates_per_person,
        people=tuple(people),
        gallery=np.asarray(gallery, dtype=np.intp),
        gallery_owner=np.asarray(gallery_owner, dtype=np.intp),
        mated=np.asarray(mated, dtype=np.intp),
        mated_owner=np.asarray(mated_owner, dtype=np.intp),
        non_mated=np.asarray(non_mated, dtype=np.intp),
        people_left_out=left_out,
    )


def candidate_scores(
    similarity: NDArray[np.float64], owner: NDArray[np.intp], n_people: int
) -> NDArray[np.float64]:
    """Best template per person: ``(n_probes, n_templates)`` → ``(n_probes, n_people)``.

    ``owner[j]`` is the person of template column ``j``; a person without templates, and
    a row of ``-inf`` (failure to acquire), scores ``-inf``.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2 or sim.shape[1] != owner.size:
        raise ValueError(f"similarity must be (n, {owner.size}), got {sim.shape}")
    best = np.full((sim.shape[0], n_people), -np.inf)
    for person in range(n_people):
        columns = sim[:, owner == person]
        if columns.shape[1]:
            best[:, person] = columns.max(axis=1)
    return best


def mated_hits(candidates: NDArray[np.float64], truth: NDArray[np.intp]) -> NDArray[np.float64]:
    """The own identity's score where it strictly beats every other person, else ``-inf``.

    ``candidates``: ``(n_probes, n_people)`` from :func:`candidate_scores`; ``truth``:
    ``(n_probes,)`` person index of each mated probe.
    """
    if candidates.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    rows = np.arange(candidates.shape[0])
    own = candidates[rows, truth]
    others = candidates.copy()
    others[rows, truth] = -np.inf
    best_other = others.max(axis=1) if candidates.shape[1] > 1 else np.full(own.size, -np.inf)
    hit = np.isfinite(own) & (own > best_other)
    return np.where(hit, own, -np.inf)


def top_scores(candidates: NDArray[np.float64]) -> NDArray[np.float64]:
    """The top candidate's score of each probe, ``-inf`` for an empty gallery."""
    if candidates.shape[1] == 0:
        return np.full(candidates.shape[0], -np.inf)
    top: NDArray[np.float64] = candidates.max(axis=1)
    return top


def protocol_scores(
    mated_hit: NDArray[np.float64], non_mated_top: NDArray[np.float64]
) -> ProtocolScores:
    """Bundle the two score sets with their DET curve (FPIR as ``fmr``, FNIR as ``fnmr``).

    Raises:
        DatasetError: no mated or no non-mated probes.
    """
    if mated_hit.size == 0 or non_mated_top.size == 0:
        raise DatasetError("identification needs both mated and non-mated probes")
    return ProtocolScores(mated_hit, non_mated_top, error_rates(mated_hit, non_mated_top))


def rows_at_fpirs(
    scores: ProtocolScores,
    protocol: Protocol,
    fpirs: Sequence[float] = REPORTED_FPIRS,
) -> list[IdentificationRow]:
    """FNIR at each target FPIR (threshold set on the non-mated probes' top scores)."""
    rank1 = float(np.mean(np.isfinite(scores.mated_hit)))
    rows: list[IdentificationRow] = []
    for fpir in fpirs:
        # FNIR is FNMR over "own identity on top" scores; FPIR is FMR over strangers' tops.
        point = fnmr_at_fmr(scores.mated_hit, scores.non_mated_top, fpir)
        rows.append(
            IdentificationRow(
                templates_per_person=protocol.templates_per_person,
                fpir=fpir,
                fnir=point.fnmr,
                threshold=point.threshold,
                fpir_measured=point.fmr_achieved,
                resolvable=point.resolvable,
                gallery_people=len(protocol.people),
                people_left_out=protocol.people_left_out,
                n_mated=point.n_genuine,
                n_nonmated=point.n_impostor,
                rank1=rank1,
            )
        )
    return rows


def evaluate_protocol(
    protocol: Protocol, embeddings: NDArray[np.float64], acquired: NDArray[np.bool_]
) -> ProtocolScores:
    """Score every probe of ``protocol`` against its gallery (best template per person).

    ``embeddings``: ``(n_images, 128)``, rows of images without a face are ignored;
    ``acquired``: ``(n_images,)`` bool.
    """
    probes = np.concatenate([protocol.mated, protocol.non_mated])
    similarity = score(embeddings[probes], embeddings[protocol.gallery])
    similarity[~acquired[probes]] = -np.inf
    candidates = candidate_scores(similarity, protocol.gallery_owner, len(protocol.people))
    n_mated = protocol.mated.size
    return protocol_scores(
        mated_hits(candidates[:n_mated], protocol.mated_owner), top_scores(candidates[n_mated:])
    )


@dataclass(frozen=True, slots=True)
class IdentificationReport:
    """Every protocol's rows, the split and the failures to acquire; curves stay out of JSON."""

    seed: int
    enrolled_people: int
    non_mated_people: int
    images: int
    fta_images: int
    results: tuple[IdentificationRow, ...]
    curves: Mapping[int, ErrorCurve] = field(
        repr=False, compare=False, metadata={JSON_FIELD: False}
    )


def run_identification(
    images: Sequence[LabelledImage],
    acquired: Mapping[Path, Acquisition],
    split: IdentitySplit,
    seed: int,
    templates_per_person: Sequence[int] = TEMPLATES_PER_PERSON,
    fpirs: Sequence[float] = REPORTED_FPIRS,
) -> IdentificationReport:
    """Build each gallery protocol of ``split`` and report FNIR at ``fpirs`` and rank-1.

    ``acquired`` must hold every image's acquisition (embed each image once, then call);
    ``seed`` orders each person's photos (see :func:`build_protocol`).
    """
    embeddings = np.zeros((len(images), EMBEDDING_DIM), dtype=np.float64)
    valid = np.zeros(len(images), dtype=bool)
    for k, image in enumerate(images):
        embedding = acquired[image.path].embedding
        if embedding is not None:
            embeddings[k], valid[k] = embedding, True
    rows: list[IdentificationRow] = []
    curves: dict[int, ErrorCurve] = {}
    for count in templates_per_person:
        protocol = build_protocol(images, valid, split, count, seed)
        scores = evaluate_protocol(protocol, embeddings, valid)
        rows += rows_at_fpirs(scores, protocol, fpirs)
        curves[count] = scores.curve
    return IdentificationReport(
        seed=seed,
        enrolled_people=len(split.enrolled),
        non_mated_people=len(split.non_mated),
        images=len(images),
        fta_images=int(np.sum(~valid)),
        results=tuple(rows),
        curves=curves,
    )
