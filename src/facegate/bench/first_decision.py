"""Time to the first 1:N decision after a change (``facegate bench first-decision``).

Builds a temporary site of N people, each added, consented and enrolled through the store's
API (one synthetic template each: a standard normal 128-D vector scaled to unit length, the
embeddings' shape and norm; no images, so no face pipeline runs), warms the gallery with one
full load, then repeats: enroll one more person and time the next decision's gallery part
(``Store.load_gallery`` + the matcher's 1:N ``identify`` + the explanation), erase that person
and time the next one again. A full rebuild (the cached gallery dropped first) is timed for
comparison. Only the gallery part is timed: detection, embedding and liveness of the probe
image cost the same whatever the gallery holds.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from facegate.core.config import Environment, Settings
from facegate.gate.explanation import explain_identify
from facegate.gate.matcher import CalibratedMatcher
from facegate.matching import DEFAULT_OPERATING_POINT
from facegate.models.registry import ModelRegistry
from facegate.privacy.notice_template import starter_notice
from facegate.store import Store, SubjectKind
from facegate.store.records import EMBEDDING_DIM, DeletionReason
from facegate.vision.sface import SFACE

BENCH_SITE = "first-decision"
ACTOR = "bench:first-decision"
NOTICE_VERSION = "bench-1"
#: Noise added to a person's template to make their probe (unit vectors; 0.05 per component
#: keeps the probe far above the 1:N threshold and far from everybody else).
PROBE_NOISE = 0.05
#: Full rebuilds timed for comparison (each decrypts the whole gallery).
REBUILDS = 3
#: Where the temporary store goes when no folder is given: memory, if the system has it,
#: so the build measures the store and not the disk's fsync.
MEMORY_DISK = Path("/dev/shm")  # noqa: S108 (a parent for mkdtemp, not a file name)


@dataclass(frozen=True, slots=True)
class Timing:
    """Milliseconds of ``n`` runs."""

    n: int
    median_ms: float
    p90_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Timing:
        ms = sorted(1000 * s for s in seconds)
        p90 = ms[min(len(ms) - 1, int(np.ceil(0.9 * len(ms))) - 1)]
        return cls(len(ms), round(statistics.median(ms), 2), round(p90, 2), round(ms[-1], 2))


@dataclass(frozen=True, slots=True)
class FirstDecisionResult:
    people: int
    templates: int
    #: Seconds to add, consent and enroll the N people through the store's API.
    build_s: float
    build_per_person_ms: float
    #: The first decision after one more person's enrollment (they are identified).
    after_enrollment: Timing
    #: The first decision after that person's erasure (they are no longer identified).
    after_erasure: Timing
    #: The same decision with the cached gallery dropped: a full decrypt and rebuild.
    full_rebuild: Timing
    #: Whether every timed decision decided as expected (newcomer identified, then unknown).
    decisions_correct: bool
    data_dir: str
    embeddings: str = "synthetic: standard normal 128-D, unit length"


def _unit(rng: np.random.Generator, count: int) -> NDArray[np.float32]:
    vectors = rng.standard_normal((count, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


@contextmanager
def _temporary_store(data_dir: Path | None) -> Iterator[tuple[Store, Path]]:
    parent = data_dir or (MEMORY_DISK if MEMORY_DISK.is_dir() else None)
    with tempfile.TemporaryDirectory(prefix="facegate-first-decision-", dir=parent) as folder:
        settings = Settings(data_dir=Path(folder) / "data", env=Environment.DEVELOPMENT)
        with Store.open(settings) as store:
            yield store, Path(folder)


def _person(store: Store, name: str, embedding: NDArray[np.float32]) -> str:
    """Add, consent and enroll one resident through the store's API; their id."""
    subject = store.add_subject(BENCH_SITE, name, SubjectKind.RESIDENT, actor=ACTOR)
    store.consents.record(subject.id, NOTICE_VERSION, "signature", "scan:bench", actor=ACTOR)
    store.enroll(subject.id, [embedding], SFACE, [0.9], ACTOR)
    return subject.id


def run_first_decision(
    people: int,
    repeats: int = 10,
    *,
    seed: int = 0,
    data_dir: Path | None = None,
    on_person: Callable[[], None] | None = None,
) -> FirstDecisionResult:
    """Build N enrolled people and time the first decision after an enrollment and after
    an erasure, ``repeats`` times each (see the module's docstring)."""
    if people < 1 or repeats < 1:
        raise ValueError("people and repeats must be at least 1")
    rng = np.random.default_rng(seed)
    matcher = CalibratedMatcher(ModelRegistry.default())
    point = DEFAULT_OPERATING_POINT
    with _temporary_store(data_dir) as (store, folder):
        store.create_site(BENCH_SITE, "First Decision Garden", actor=ACTOR)
        notice = starter_notice("First Decision Garden", "Bench Property Co.", "front desk")
        store.notices.publish(BENCH_SITE, NOTICE_VERSION, notice, actor=ACTOR)
        store.assessments.record(BENCH_SITE, "Bench Assessor", "PIA for the bench.", actor=ACTOR)
        started = time.perf_counter()
        for k, embedding in enumerate(_unit(rng, people)):
            _person(store, f"Resident {k}", embedding)
            if on_person is not None:
                on_person()
        build_s = time.perf_counter() - started

        def decide(probe: NDArray[np.float32]) -> str | None:
            gallery = store.load_gallery(BENCH_SITE, SFACE, ACTOR, "identify")
            found = matcher.identify(probe, gallery, SFACE, point)
            threshold = matcher.identification_threshold(SFACE, point, gallery)
            explain_identify(probe, gallery, threshold, found)
            return found

        decide(_unit(rng, 1)[0])  # warm: the one full build
        enrolled: list[float] = []
        erased: list[float] = []
        correct = True
        for r in range(repeats):
            (template,) = _unit(rng, 1)
            newcomer = _person(store, f"Newcomer {r}", template)
            probe = template + PROBE_NOISE * _unit(rng, 1)[0]
            probe /= np.linalg.norm(probe)
            started = time.perf_counter()
            found = decide(probe)
            enrolled.append(time.perf_counter() - started)
            store.delete_subject(newcomer, DeletionReason.REQUEST, ACTOR)
            started = time.perf_counter()
            gone = decide(probe)
            erased.append(time.perf_counter() - started)
            correct = correct and found == newcomer and gone is None
        rebuilds: list[float] = []
        for _ in range(REBUILDS):
            store.evict_galleries(BENCH_SITE)
            started = time.perf_counter()
            decide(_unit(rng, 1)[0])
            rebuilds.append(time.perf_counter() - started)
        templates = len(store.load_gallery(BENCH_SITE, SFACE, ACTOR, "count"))
    return FirstDecisionResult(
        people=people,
        templates=templates,
        build_s=round(build_s, 1),
        build_per_person_ms=round(1000 * build_s / people, 2),
        after_enrollment=Timing.of(enrolled),
        after_erasure=Timing.of(erased),
        full_rebuild=Timing.of(rebuilds),
        decisions_correct=correct,
        data_dir=str(folder.parent),
    )
