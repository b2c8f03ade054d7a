"""1:N search benchmark: :class:`~facegate.matching.index.TemplateIndex` against exact search.

Gallery (``templates`` in all):

* **Real** templates: a labelled development set (LFW deep-funneled subset) embedded with the
  project's pipeline. Each person's photos are shuffled (seeded); the first
  :data:`REAL_TEMPLATES_PER_PERSON` are enrolled, the rest are held-out genuine probes.
* **Synthetic** templates fill the gallery, :data:`SYNTHETIC_TEMPLATES_PER_PERSON` per
  synthetic person, drawn to match the real embeddings' distribution
  (:func:`fit_distribution`): a person's centre ``c ~ N(μ, Σ_between)`` (mean and covariance
  of the real people's mean embeddings), each template ``c + s·e`` with
  ``e ~ N(0, Σ_within)`` (pooled covariance of the real embeddings around their person's
  mean) and ``s`` a real person's within-person spread relative to the pooled one
  (resampled, so some people vary more than others), then L2-normalised like SFace's.
  Without real data the same model runs isotropically with the scalar summaries measured on
  the development set (:data:`FALLBACK_DISTRIBUTION`), and the report says so.

Probes: the held-out real photos of enrolled people (genuine searches; at most
:data:`MAX_REAL_PROBES`) and :data:`SYNTHETIC_PROBES` fresh draws of enrolled synthetic
people (``c + s·e`` again). Recall@1: the fraction of probes whose index top-1 template is
exact search's top-1 (every template scored with :func:`facegate.matching.score.score`).
Latency: one :meth:`TemplateIndex.search` per probe for :data:`SEARCH_K` templates (what a
gallery asks for its nearest subject), single thread, after the build. Memory: the growth of
the process's resident memory while the index is built, per template, beside the index's own
count (:attr:`TemplateIndex.memory_bytes`).

The index's parameters were chosen on :data:`TUNING_SEED`'s draws and probes; reports use
another seed (default 0), whose split, gallery and probes are all different.
"""

from __future__ import annotations

import gc
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from facegate.matching import index as index_module
from facegate.matching.index import TemplateIndex
from facegate.matching.score import score
from facegate.matching.search import SUBJECT_SEARCH_TEMPLATES
from facegate.vision.record import EMBEDDING_DIM

#: Templates searched per probe: what a gallery asks its index for the nearest subject.
SEARCH_K = SUBJECT_SEARCH_TEMPLATES
REAL_TEMPLATES_PER_PERSON = 2
SYNTHETIC_TEMPLATES_PER_PERSON = 2
MAX_REAL_PROBES = 1000
SYNTHETIC_PROBES = 1000
#: The seed the index parameters were tuned on; reports use another.
TUNING_SEED = 1
#: Templates generated and inserted per step (bounds the float64 scratch memory).
CHUNK = 65_536
#: Gallery rows per step of exact search (probes x rows float32 scratch).
EXACT_CHUNK = 16_384
#: Candidates per probe and gallery chunk kept by the float32 pass of exact search, then
#: re-scored in float64 with ``score``; far more than float32 rounding can reorder.
EXACT_CANDIDATES = 8
#: Single enrolments / erasures timed at full size.
UPDATE_SAMPLES = 100
#: Probes timed through exhaustive ``score`` (today's path), for comparison.
EXACT_TIMED_PROBES = 5
_REGULARISER = 1e-9


@dataclass(frozen=True, slots=True)
class EmbeddingDistribution:
    """A per-person Gaussian model of embeddings (see the module docstring).

    ``between_factor``/``within_factor`` are ``(128, 128)`` Cholesky factors;
    ``spread_scales`` the real people's within-person RMS spread over the pooled one.
    """

    mean: NDArray[np.float64]
    between_factor: NDArray[np.float64]
    within_factor: NDArray[np.float64]
    spread_scales: NDArray[np.float64]
    source: str


#: Scalar summaries of the SFace embeddings of the LFW development subset (2,439 photos,
#: 317 people): norm of the mean embedding, trace of the between-person and within-person
#: covariances. Used only when no real data is given (isotropic model).
FALLBACK_MEAN_NORM = 0.302
FALLBACK_BETWEEN_TRACE = 0.615
FALLBACK_WITHIN_TRACE = 0.344
FALLBACK_DISTRIBUTION = "isotropic, LFW-dev SFace summaries (no real data given)"


@dataclass(frozen=True, slots=True)
class LabelledEmbeddings:
    """``embeddings[i]`` (float32, ``(n, 128)``) shows person ``identities[i]``."""

    embeddings: NDArray[np.float32]
    identities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Workload:
    """The gallery in insertion order and the probes (``real_probes`` real ones first)."""

    gallery: NDArray[np.float32]
    real_templates: int
    real_people: int
    probes: NDArray[np.float32]
    real_probes: int
    distribution: str


@dataclass(frozen=True, slots=True)
class SearchReport:
    """What ``search.json`` holds (plus the command and data the CLI adds)."""

    templates: int
    build_s: float
    memory_bytes_per_template: float
    memory_bytes_per_template_counted: float
    p50_ms: float
    p99_ms: float
    recall_at_1: float
    recall_at_1_real: float | None
    recall_at_1_synthetic: float
    probes: int
    real_probes: int
    synthetic_probes: int
    mean_ms: float
    max_ms: float
    exact_p50_ms: float
    add_one_p50_ms: float
    remove_one_p50_ms: float
    real_templates: int
    real_people: int
    seed: int
    tuned_on_this_seed: bool
    distribution: str
    parameters: dict[str, int]
    notes: list[str] = field(default_factory=list)


def fit_distribution(real: LabelledEmbeddings) -> EmbeddingDistribution:
    """Fit the per-person Gaussian model to labelled real embeddings (>= 2 people)."""
    x = real.embeddings.astype(np.float64)
    names, owner = np.unique(np.asarray(real.identities), return_inverse=True)
    if len(names) < 2:
        raise ValueError("fitting the distribution needs at least two people")
    counts = np.bincount(owner).astype(np.float64)
    centres = np.zeros((len(names), EMBEDDING_DIM))
    np.add.at(centres, owner, x)
    centres /= counts[:, np.newaxis]
    residual = x - centres[owner]
    within = residual.T @ residual / max(len(x) - len(names), 1)
    between = np.cov(centres.T)
    person_spread = np.sqrt(np.bincount(owner, np.sum(residual**2, axis=1)) / counts)
    pooled = math.sqrt(float(np.trace(within)))
    several = counts > 1  # one photo says nothing about spread
    return EmbeddingDistribution(
        mean=centres.mean(axis=0),
        between_factor=_factor(between),
        within_factor=_factor(within),
        spread_scales=person_spread[several] / pooled,
        source=f"fitted on {len(x)} real embeddings of {len(names)} people",
    )


def fallback_distribution() -> EmbeddingDistribution:
    """The isotropic model used without real data (see :data:`FALLBACK_MEAN_NORM`)."""
    direction = np.zeros(EMBEDDING_DIM)
    direction[0] = 1.0
    return EmbeddingDistribution(
        mean=direction * FALLBACK_MEAN_NORM,
        between_factor=np.eye(EMBEDDING_DIM) * math.sqrt(FALLBACK_BETWEEN_TRACE / EMBEDDING_DIM),
        within_factor=np.eye(EMBEDDING_DIM) * math.sqrt(FALLBACK_WITHIN_TRACE / EMBEDDING_DIM),
        spread_scales=np.ones(1),
        source=FALLBACK_DISTRIBUTION,
    )


def draw_people(
    distribution: EmbeddingDistribution, rng: np.random.Generator, people: int, per_person: int
) -> tuple[NDArray[np.float32], NDArray[np.float64], NDArray[np.float64]]:
    """``people * per_person`` unit templates (person-major), the centres and the spreads."""
    centres = distribution.mean + rng.standard_normal((people, EMBEDDING_DIM)) @ (
        distribution.between_factor.T
    )
    spreads = rng.choice(distribution.spread_scales, people)
    return draw_samples(distribution, rng, centres, spreads, per_person), centres, spreads


def draw_samples(
    distribution: EmbeddingDistribution,
    rng: np.random.Generator,
    centres: NDArray[np.float64],
    spreads: NDArray[np.float64],
    per_person: int,
) -> NDArray[np.float32]:
    """``per_person`` unit samples ``c + s·e`` of each person (person-major)."""
    noise = rng.standard_normal((len(centres) * per_person, EMBEDDING_DIM)) @ (
        distribution.within_factor.T
    )
    samples = (
        np.repeat(centres, per_person, axis=0)
        + noise * np.repeat(spreads, per_person)[:, np.newaxis]
    )
    unit: NDArray[np.float32] = (samples / np.linalg.norm(samples, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


def build_workload(
    templates: int,
    real: LabelledEmbeddings | None,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> Workload:
    """The gallery (real templates mixed into synthetic ones, shuffled) and the probes."""
    if templates < 2:
        raise ValueError(f"templates must be >= 2, got {templates}")
    rng = np.random.default_rng(seed)
    real_gallery, real_probes, real_people = _split_real(real, templates // 2, rng)
    distribution = fit_distribution(real) if real is not None else fallback_distribution()
    synthetic = templates - len(real_gallery)
    people = math.ceil(synthetic / SYNTHETIC_TEMPLATES_PER_PERSON)
    gallery = np.empty((templates, EMBEDDING_DIM), dtype=np.float32)
    gallery[: len(real_gallery)] = real_gallery
    probe_people = min(SYNTHETIC_PROBES, people)
    probe_centres = np.zeros((0, EMBEDDING_DIM))
    probe_spreads = np.zeros(0)
    filled = len(real_gallery)
    chunk_people = max(CHUNK // SYNTHETIC_TEMPLATES_PER_PERSON, probe_people)
    for first in range(0, people, chunk_people):
        count = min(chunk_people, people - first)
        drawn, centres, spreads = draw_people(
            distribution, rng, count, SYNTHETIC_TEMPLATES_PER_PERSON
        )
        if first == 0:  # the first people drawn are the probed ones (all are random)
            probe_centres, probe_spreads = centres[:probe_people], spreads[:probe_people]
        take = min(len(drawn), templates - filled)
        gallery[filled : filled + take] = drawn[:take]
        filled += take
        if progress is not None:
            progress(take)
    synthetic_probes = draw_samples(distribution, rng, probe_centres, probe_spreads, 1)
    order = rng.permutation(templates)  # enrolment order: people arrive in any order
    return Workload(
        gallery=gallery[order],
        real_templates=len(real_gallery),
        real_people=real_people,
        probes=np.concatenate([real_probes, synthetic_probes]).astype(np.float32),
        real_probes=len(real_probes),
        distribution=distribution.source,
    )


def exact_top1(
    probes: NDArray[np.float32],
    gallery: NDArray[np.float32],
    progress: Callable[[int], None] | None = None,
) -> NDArray[np.int64]:
    """Row of each probe's best template by :func:`score` over the whole gallery.

    A float32 pass keeps :data:`EXACT_CANDIDATES` per gallery chunk; those are re-scored
    with ``score`` (float64), whose best is the answer.
    """
    candidates: list[NDArray[np.int64]] = []
    probe_norms = np.sum(probes * probes, axis=1)
    for start in range(0, len(gallery), EXACT_CHUNK):
        chunk = gallery[start : start + EXACT_CHUNK]
        distances = (
            probe_norms[:, np.newaxis] + np.sum(chunk * chunk, axis=1) - 2.0 * probes @ chunk.T
        )
        keep = min(EXACT_CANDIDATES, len(chunk))
        nearest = np.argpartition(distances, keep - 1, axis=1)[:, :keep]
        candidates.append(nearest.astype(np.int64) + start)
        if progress is not None:
            progress(len(chunk))
    pooled = np.concatenate(candidates, axis=1)
    best = np.empty(len(probes), dtype=np.int64)
    for i, rows in enumerate(pooled):
        best[i] = rows[int(np.argmax(score(probes[i], gallery[rows])[0]))]
    return best


def run_search_benchmark(
    workload: Workload,
    seed: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> SearchReport:
    """Build the index over ``workload.gallery`` (keys = row numbers) and measure it.

    ``progress(stage, done, total)`` is called as the build, the searches and the exact
    ground truth advance.
    """
    gallery = workload.gallery
    n = len(gallery)

    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    gc.collect()
    rss_before = _resident_bytes()
    started = time.perf_counter()
    index = TemplateIndex()
    for first in range(0, n, CHUNK):
        rows = np.arange(first, min(first + CHUNK, n), dtype=np.int64)
        index.add(rows, gallery[first : first + CHUNK])
        report("building the index", int(rows[-1]) + 1, n)
    build_s = time.perf_counter() - started
    gc.collect()
    rss_after = _resident_bytes()
    counted = index.memory_bytes / n
    measured = (rss_after - rss_before) / n if rss_before and rss_after else counted

    found = np.empty(len(workload.probes), dtype=np.int64)
    latencies = np.empty(len(workload.probes))
    for i, probe in enumerate(workload.probes):
        started = time.perf_counter()
        keys, _ = index.search(probe, SEARCH_K)
        latencies[i] = time.perf_counter() - started
        found[i] = keys[0]
        report("searching", i + 1, len(workload.probes))

    scanned = [0]

    def scan(rows: int) -> None:
        scanned[0] += rows
        report("exact search (truth)", scanned[0], n)

    truth = exact_top1(workload.probes, gallery, scan)
    hits = found == truth
    real = workload.real_probes
    exact_ms = _time_exact(gallery, workload.probes[:EXACT_TIMED_PROBES])
    add_ms, remove_ms = _time_updates(index, gallery, np.random.default_rng(seed))
    latencies_ms = latencies * 1e3
    return SearchReport(
        templates=n,
        build_s=round(build_s, 3),
        memory_bytes_per_template=round(max(measured, counted), 1),
        memory_bytes_per_template_counted=round(counted, 1),
        p50_ms=round(float(np.percentile(latencies_ms, 50)), 4),
        p99_ms=round(float(np.percentile(latencies_ms, 99)), 4),
        recall_at_1=float(np.mean(hits)),
        recall_at_1_real=float(np.mean(hits[:real])) if real else None,
        recall_at_1_synthetic=float(np.mean(hits[real:])),
        probes=len(hits),
        real_probes=real,
        synthetic_probes=len(hits) - real,
        mean_ms=round(float(latencies_ms.mean()), 4),
        max_ms=round(float(latencies_ms.max()), 4),
        exact_p50_ms=round(exact_ms, 3),
        add_one_p50_ms=round(add_ms, 4),
        remove_one_p50_ms=round(remove_ms, 4),
        real_templates=workload.real_templates,
        real_people=workload.real_people,
        seed=seed,
        tuned_on_this_seed=seed == TUNING_SEED,
        distribution=workload.distribution,
        parameters=index_parameters(),
        notes=_notes(n, measured, counted, seed, real),
    )


def index_parameters() -> dict[str, int]:
    """The index's tuning constants, as reported."""
    return {
        "connectivity": index_module.CONNECTIVITY,
        "expansion_add": index_module.EXPANSION_ADD,
        "expansion_search": index_module.EXPANSION_SEARCH,
        "rerank_candidates": index_module.RERANK_CANDIDATES,
        "exact_search_limit": index_module.EXACT_SEARCH_LIMIT,
        "search_k": SEARCH_K,
    }


def _split_real(
    real: LabelledEmbeddings | None, max_templates: int, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32], int]:
    empty = np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    if real is None:
        return empty, empty, 0
    by_person: dict[str, list[int]] = {}
    for i, name in enumerate(real.identities):
        by_person.setdefault(name, []).append(i)
    names = sorted(name for name, rows in by_person.items() if len(rows) > 1)
    names = [names[i] for i in rng.permutation(len(names))]
    names = names[: max(max_templates // REAL_TEMPLATES_PER_PERSON, 0)]
    enrolled: list[int] = []
    held_out: list[int] = []
    for name in names:
        rows = [by_person[name][i] for i in rng.permutation(len(by_person[name]))]
        keep = min(REAL_TEMPLATES_PER_PERSON, len(rows) - 1)
        enrolled += rows[:keep]
        held_out += rows[keep:]
    if len(held_out) > MAX_REAL_PROBES:
        held_out = [held_out[i] for i in sorted(rng.choice(len(held_out), MAX_REAL_PROBES, False))]
    x = real.embeddings
    return (x[enrolled] if enrolled else empty), (x[held_out] if held_out else empty), len(names)


def _time_exact(gallery: NDArray[np.float32], probes: NDArray[np.float32]) -> float:
    times = []
    for probe in probes:
        started = time.perf_counter()
        score(probe, gallery)
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1e3


def _time_updates(
    index: TemplateIndex, gallery: NDArray[np.float32], rng: np.random.Generator
) -> tuple[float, float]:
    """Median ms to enrol one template and to erase one, at full size (state restored)."""
    rows = rng.choice(len(gallery), min(UPDATE_SAMPLES, len(gallery)), replace=False)
    removing, adding = [], []
    for row in rows.tolist():
        started = time.perf_counter()
        index.remove([row])
        removing.append(time.perf_counter() - started)
        started = time.perf_counter()
        index.add(np.array([row]), gallery[row : row + 1])
        adding.append(time.perf_counter() - started)
    return float(np.median(adding)) * 1e3, float(np.median(removing)) * 1e3


def _notes(n: int, measured: float, counted: float, seed: int, real: int) -> list[str]:
    notes = [
        "memory_bytes_per_template: the larger of resident-memory growth during the build "
        "and the index's own count (memory_bytes_per_template_counted)",
        f"latency: one search for {SEARCH_K} templates per probe, single thread, after the "
        "build; exact_p50_ms: score() over every template (the exhaustive path)",
    ]
    if real == 0:
        notes.append("synthetic only: no real embeddings were given (--data)")
    if seed == TUNING_SEED:
        notes.append(f"seed {seed} is the tuning seed: not a fair report")
    if n <= index_module.EXACT_SEARCH_LIMIT:
        notes.append("at this size the index searches exhaustively (exact)")
    if measured < 0.5 * counted:
        notes.append("resident memory grew less than counted (pages reused)")
    return notes


def _factor(covariance: NDArray[np.float64]) -> NDArray[np.float64]:
    size = covariance.shape[0]
    factor = np.linalg.cholesky(covariance + _REGULARISER * np.eye(size))
    return np.asarray(factor, dtype=np.float64)


def _resident_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path("/proc/self/statm").read_text(encoding="ascii").split()
    except OSError:
        return 0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def labelled_embeddings(
    vectors: Sequence[NDArray[np.float32] | None], identities: Sequence[str]
) -> LabelledEmbeddings:
    """Keep the photos that gave an embedding (failures to acquire are dropped)."""
    kept = [(v, name) for v, name in zip(vectors, identities, strict=True) if v is not None]
    if not kept:
        raise ValueError("no photo gave an embedding")
    return LabelledEmbeddings(
        np.stack([v for v, _ in kept]).astype(np.float32), tuple(name for _, name in kept)
    )
