"""TemplateIndex: graph candidates, exact scores, incremental add/remove, erasure, threads."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import NDArray
from usearch.index import Index

from facegate.matching import (
    IndexedGalleryLike,
    Outcome,
    TemplateIndex,
    identify,
    nearest_subjects,
    score,
)
from facegate.matching import index as index_module
from facegate.vision.record import EMBEDDING_DIM

#: Above EXACT_SEARCH_LIMIT in the tests that need the graph walk (set by a fixture).
SMALL_EXACT_LIMIT = 200


def _unit(rows: NDArray[np.floating]) -> NDArray[np.float32]:
    unit: NDArray[np.float32] = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(
        np.float32
    )
    return unit


def _clustered(
    rng: np.random.Generator, people: int, per_person: int, spread: float = 0.35
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Unit vectors around ``people`` random centres (like several photos of one face)."""
    centres = rng.standard_normal((people, EMBEDDING_DIM))
    owners = np.repeat(np.arange(people), per_person)
    noise = rng.standard_normal((len(owners), EMBEDDING_DIM)) * spread / np.sqrt(EMBEDDING_DIM)
    return _unit(_unit(centres)[owners] + noise), owners


def _exact_top(
    probes: NDArray[np.floating], vectors: NDArray[np.float32], keys: NDArray[np.int64]
) -> NDArray[np.int64]:
    result: NDArray[np.int64] = keys[np.argmax(score(probes, vectors), axis=1)]
    return result


@pytest.fixture
def graph_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Walk the graph from a few hundred templates on (exhaustive search below)."""
    monkeypatch.setattr(index_module, "EXACT_SEARCH_LIMIT", SMALL_EXACT_LIMIT)


@pytest.mark.parametrize("data", ["random", "clustered"])
@pytest.mark.usefixtures("graph_walk")
def test_search_finds_the_exact_best_with_exact_scores(data: str) -> None:
    rng = np.random.default_rng(7)
    if data == "random":
        vectors = _unit(rng.standard_normal((3000, EMBEDDING_DIM)))
        probes = _unit(rng.standard_normal((200, EMBEDDING_DIM)))
    else:
        vectors, _ = _clustered(rng, people=600, per_person=5)
        probes, _ = _clustered(rng, people=200, per_person=1)
        probes = _unit(vectors[rng.choice(len(vectors), 200)] + 0.05 * probes)
    keys = rng.permutation(np.arange(len(vectors), dtype=np.int64) * 1_000_003 + 2**40)
    index = TemplateIndex()
    index.add(keys, vectors)
    by_key = dict(zip(keys.tolist(), range(len(keys)), strict=True))

    found = [index.search(probe, 5) for probe in probes]
    top = np.array([keys_[0] for keys_, _ in found])
    recall = float(np.mean(top == _exact_top(probes, vectors, keys)))
    # Uniform random probes are the hard case: every template is almost equally far.
    assert recall >= (0.95 if data == "random" else 0.99)
    for probe, (found_keys, similarities) in zip(probes, found, strict=True):
        rows = [by_key[int(k)] for k in found_keys]
        np.testing.assert_array_equal(similarities, score(probe, vectors[rows])[0])
        assert np.all(np.diff(similarities) <= 0.0)
        assert len(set(found_keys.tolist())) == len(found_keys) == 5


def test_small_index_is_exhaustive_and_exact() -> None:
    rng = np.random.default_rng(3)
    vectors = _unit(rng.standard_normal((500, EMBEDDING_DIM)))
    keys = np.arange(500, dtype=np.int64) * 3
    index = TemplateIndex()
    index.add(keys, vectors)
    probes = _unit(rng.standard_normal((100, EMBEDDING_DIM)))
    expected = score(probes, vectors)
    for probe, row in zip(probes, expected, strict=True):
        found_keys, similarities = index.search(probe, 10)
        order = np.argsort(-row, kind="stable")[:10]
        np.testing.assert_array_equal(found_keys, keys[order])
        # score() of one row against many sums in another order: last-bit differences.
        np.testing.assert_allclose(similarities, row[order], rtol=0, atol=1e-12)


def test_unnormalised_embeddings_get_exact_scores() -> None:
    """dlib embeddings are not unit length: the graph's squared L2 ranks them all the same."""
    rng = np.random.default_rng(5)
    vectors = (rng.standard_normal((300, EMBEDDING_DIM)) * 0.05).astype(np.float32)
    index = TemplateIndex()
    index.add(np.arange(300), vectors)
    found_keys, similarities = index.search(vectors[42] + 0.001, 1)
    assert found_keys.tolist() == [42]
    assert similarities[0] == score(vectors[42] + 0.001, vectors[42])[0, 0]


def test_empty_index_and_k_zero_give_empty_results() -> None:
    index = TemplateIndex()
    probe = np.ones(EMBEDDING_DIM, dtype=np.float32)
    keys, similarities = index.search(probe, 3)
    assert keys.shape == similarities.shape == (0,)
    assert keys.dtype == np.dtype(np.int64)
    assert similarities.dtype == np.dtype(np.float64)
    assert len(index) == 0
    assert 1 not in index
    assert index.remove([1, 2]) == 0
    index.add(np.array([1]), probe[np.newaxis])
    assert index.search(probe, 0)[0].size == 0
    assert index.search(probe, 10)[0].tolist() == [1]


def test_duplicate_keys_raise_and_add_nothing() -> None:
    index = TemplateIndex()
    vectors = _unit(np.random.default_rng(1).standard_normal((3, EMBEDDING_DIM)))
    index.add(np.array([1, 2]), vectors[:2])
    with pytest.raises(ValueError, match="already in the index"):
        index.add(np.array([3, 2]), vectors[1:])
    with pytest.raises(ValueError, match="repeat"):
        index.add(np.array([4, 4]), vectors[1:])
    assert len(index) == 2
    assert 3 not in index
    assert 4 not in index


@pytest.mark.parametrize(
    ("keys", "vectors", "message"),
    [
        (np.array([1.0]), np.zeros((1, EMBEDDING_DIM)), "integer"),
        (np.array([1, 2]), np.zeros((1, EMBEDDING_DIM)), "shape"),
        (np.array([1]), np.zeros((1, 64)), "shape"),
        (np.array([1]), np.full((1, EMBEDDING_DIM), np.nan), "NaN"),
    ],
)
def test_add_rejects_bad_input(
    keys: NDArray[np.int64], vectors: NDArray[np.float64], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TemplateIndex().add(keys, vectors)


def test_search_rejects_bad_probes_and_dim() -> None:
    index = TemplateIndex()
    with pytest.raises(ValueError, match="probe"):
        index.search(np.zeros(64), 1)
    with pytest.raises(ValueError, match="probe"):
        index.search(np.full(EMBEDDING_DIM, np.inf), 1)
    with pytest.raises(ValueError, match="dim"):
        TemplateIndex(dim=64)


def _saved(graph: Index | None) -> bytes:
    """The usearch graph serialised: every vector it can read, deleted nodes' included
    (nothing when the index has no graph: up to EXACT_SEARCH_LIMIT templates)."""
    if graph is None:
        return b""
    saved = graph.save()
    assert saved is not None
    return saved


@pytest.mark.rule("R-23")
@pytest.mark.parametrize("exact_limit", [SMALL_EXACT_LIMIT, 10**9], ids=["graph", "exhaustive"])
def test_removed_template_is_neither_returned_nor_readable(
    exact_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "EXACT_SEARCH_LIMIT", exact_limit)
    rng = np.random.default_rng(11)
    vectors = _unit(rng.standard_normal((1000, EMBEDDING_DIM)))
    index = TemplateIndex()
    index.add(np.arange(1000, 2000), vectors)
    graph = index._graph  # the usearch graph: does it still hold the erased face?
    assert (graph is None) == (exact_limit > 1000)
    erased = vectors[:10].tobytes()
    if graph is not None:
        assert vectors[5].tobytes() in _saved(graph)

    assert index.remove([1000 + i for i in range(10)] + [7]) == 10
    assert len(index) == 990
    assert 1005 not in index
    assert 1010 in index
    for i in range(10):
        found_keys, _ = index.search(vectors[i], 20)
        assert 1000 + i not in found_keys.tolist()
    memory = b"".join(block.tobytes() for block in index._blocks) + _saved(graph)
    for i in range(10):
        assert vectors[i].tobytes() not in memory
    assert vectors[10].tobytes() in memory  # the check itself can find a template
    assert erased[:64] not in memory

    # A freed row is reused; the new template is found, the erased one still is not.
    index.add(np.array([5000]), vectors[10:11] * 0.5 + vectors[11:12] * 0.5)
    assert len(index) == 991
    assert index.search(vectors[3], 1)[0][0] != 1003


@pytest.mark.usefixtures("graph_walk")
def test_incremental_churn_keeps_search_right() -> None:
    rng = np.random.default_rng(13)
    vectors, _ = _clustered(rng, people=400, per_person=4)
    keys = np.arange(len(vectors), dtype=np.int64)
    index = TemplateIndex()
    index.add(keys, vectors)
    live = np.ones(len(keys), dtype=bool)
    gone = rng.choice(len(keys), 600, replace=False)
    index.remove(gone.tolist())
    live[gone] = False
    fresh, _ = _clustered(rng, people=100, per_person=4)
    fresh_keys = np.arange(len(keys), len(keys) + len(fresh), dtype=np.int64)
    index.add(fresh_keys, fresh)
    all_vectors = np.concatenate([vectors[live], fresh])
    all_keys = np.concatenate([keys[live], fresh_keys])
    assert len(index) == len(all_keys)

    probes = _unit(all_vectors[rng.choice(len(all_vectors), 200)] + 0.02)
    top = np.array([index.search(p, 1)[0][0] for p in probes])
    assert np.mean(top == _exact_top(probes, all_vectors, all_keys)) >= 0.99
    erased_probes = vectors[gone[:50]]
    for probe in erased_probes:
        assert not set(index.search(probe, 10)[0].tolist()) & set(gone.tolist())


@pytest.mark.usefixtures("graph_walk")
def test_searches_run_while_another_thread_enrols_and_erases() -> None:
    rng = np.random.default_rng(17)
    vectors = _unit(rng.standard_normal((3000, EMBEDDING_DIM)))
    index = TemplateIndex()
    index.add(np.arange(1000), vectors[:1000])
    errors: list[BaseException] = []
    results: list[int] = []

    def enrol() -> None:
        try:
            for start in range(1000, 3000, 100):
                index.add(np.arange(start, start + 100), vectors[start : start + 100])
                index.remove(range(start - 1000, start - 950))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def search() -> None:
        try:
            for i in range(300):
                found_keys, _similarities = index.search(vectors[i % 1000 + 1000], 5)
                assert np.all(found_keys >= 0)
                results.append(len(found_keys))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=enrol)] + [threading.Thread(target=search) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 900
    assert min(results) == 5
    assert len(index) == 3000 - 20 * 50
    assert index.search(vectors[2999], 1)[0].tolist() == [2999]


def test_memory_is_counted() -> None:
    index = TemplateIndex()
    empty = index.memory_bytes
    index.add(np.arange(2000), _unit(np.random.default_rng(2).standard_normal((2000, 128))))
    assert index.memory_bytes >= empty + 2000 * EMBEDDING_DIM * 4


# --- identify() through an IndexedGalleryLike ----------------------------------------


@dataclass
class _ExactGallery:
    subject_ids: tuple[str, ...]
    embeddings: NDArray[np.float32]
    owners: NDArray[np.int64]


class _IndexedGallery:
    def __init__(self, exact: _ExactGallery) -> None:
        self._index = TemplateIndex()
        keys = np.arange(len(exact.owners), dtype=np.int64) + 100
        self._index.add(keys, exact.embeddings)
        self._subject_of = {
            int(k): exact.subject_ids[o] for k, o in zip(keys, exact.owners, strict=True)
        }
        self._subjects = len(exact.subject_ids)

    @property
    def subject_count(self) -> int:
        return self._subjects

    def nearest_subjects(self, probe: NDArray[np.floating], k: int) -> Sequence[tuple[str, float]]:
        return nearest_subjects(self._index, self._subject_of.__getitem__, probe, k)


@pytest.mark.usefixtures("graph_walk")
def test_identify_through_the_index_equals_exact_identify() -> None:
    rng = np.random.default_rng(19)
    vectors, owners = _clustered(rng, people=300, per_person=3)
    exact = _ExactGallery(tuple(f"s{i}" for i in range(300)), vectors, owners)
    indexed = _IndexedGallery(exact)
    assert isinstance(indexed, IndexedGalleryLike)
    assert not isinstance(exact, IndexedGalleryLike)

    genuine = _unit(vectors[rng.choice(len(vectors), 60)] + 0.03)
    strangers, _ = _clustered(rng, people=20, per_person=1)
    for probe in np.concatenate([genuine, strangers]):
        for threshold in (0.2, 0.6):
            assert identify(probe, indexed, threshold) == identify(probe, exact, threshold)
    assert identify(genuine[0], indexed, 0.2).outcome is Outcome.IDENTIFIED


def test_nearest_subjects_gives_each_subject_once_best_first() -> None:
    rng = np.random.default_rng(23)
    vectors, owners = _clustered(rng, people=40, per_person=25, spread=0.1)
    index = TemplateIndex()
    index.add(np.arange(len(owners)), vectors)
    # 25 templates per subject: 5 subjects need more than the first 32 candidates.
    found = nearest_subjects(index, lambda key: f"s{owners[key]}", vectors[0], 5)
    assert len(found) == 5
    assert len({s for s, _ in found}) == 5
    best = score(vectors[0], vectors)[0]
    per_subject = sorted(
        ((float(best[owners == o].max()), f"s{o}") for o in range(40)), reverse=True
    )[:5]
    assert [(s, v) for v, s in per_subject] == found
    assert nearest_subjects(index, str, vectors[0], 0) == []
    empty = _IndexedGallery(_ExactGallery((), vectors[:0], owners[:0]))
    assert identify(vectors[0], empty, 0.5).outcome is Outcome.UNKNOWN


def test_an_index_without_graph_growth_stays_exhaustive_until_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index_module, "EXACT_SEARCH_LIMIT", SMALL_EXACT_LIMIT)
    rng = np.random.default_rng(17)
    vectors = _unit(rng.standard_normal((SMALL_EXACT_LIMIT + 50, EMBEDDING_DIM)))
    keys = np.arange(len(vectors), dtype=np.int64)
    index = TemplateIndex(grow_graph=False)
    index.add(keys, vectors)
    assert index._graph is None  # no seconds-long build inside a caller's locks
    assert int(index.search(vectors[7], 1)[0][0]) == 7

    index.build_graph()

    assert index._graph is not None
    assert int(index.search(vectors[7], 1)[0][0]) == 7
    grown = TemplateIndex()
    grown.add(keys, vectors)
    assert grown._graph is not None
