"""In-memory 1:N template index: an HNSW graph picks candidates, exact scores rank them.

Layout. The float32 templates live in blocks of rows that this class owns and never moves
(``numpy`` arrays, ``_blocks``). The HNSW graph (`usearch <https://github.com/unum-cloud/usearch>`_,
metric squared L2, the score's own geometry) is built over those rows *without copying
them* (``add(copy=False)``: usearch keeps a pointer to each row), so every template is held
once: 512 bytes of vector plus the graph's links and the key maps (measured per template by
``facegate bench search``). Graph keys are row numbers; ``_row_keys`` maps a row to its
template key and ``_rows`` a template key to its row.

Erasure (R-23). ``usearch``'s ``remove`` only marks a node deleted: whatever vector it
holds stays in memory until the slot is reused. Because the graph reads the vectors from
our rows, :meth:`TemplateIndex.remove` zeroes the row in the same call, so the erased face
is readable neither here nor through the graph (whose deleted node then points at zeros).
No copy is ever made by the graph: :meth:`add` hands it C-contiguous float32 rows, the
graph's own type, so it has nothing to convert.

Search. Up to :data:`EXACT_SEARCH_LIMIT` templates there is no graph: the rows are scored
exhaustively (a site of that size rebuilds its gallery by decrypting only, as before the
index). The graph is built over every row once the index is past the limit: in the
:meth:`TemplateIndex.add` that takes it there, or, with ``grow_graph=False`` (a gallery,
whose updates run under the store's locks), only when :meth:`TemplateIndex.build_graph`
is called; it is kept from then on. It walks with :data:`EXPANSION_SEARCH` (exhaustively
while the index is back under the limit). Either way :data:`RERANK_CANDIDATES` candidates
(at least ``k``) are re-scored with :func:`facegate.matching.score.score` (float64) and the
best ``k`` returned: similarities are always exact, only the candidate choice is
approximate.

Threads. One lock serialises searches and changes: a search may run in any thread while
another thread enrols or erases; a large :meth:`add` holds the lock per batch of
:data:`ADD_BATCH` templates, so searches keep running during a bulk load.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray
from usearch.index import Index

from facegate.matching.score import score
from facegate.vision.record import EMBEDDING_DIM

#: Up to this many templates there is no graph: every row is scored (one matrix-vector
#: product, a few milliseconds at 20,000 on this 2-core machine; measured ad hoc, not by a
#: benchmark), and a rebuild costs the decryption only, not a graph build (seconds at
#: 20,000 templates).
EXACT_SEARCH_LIMIT = 20_000
#: HNSW links per node (``M``; 2M on the bottom layer, 4 bytes a link): 16 keeps vectors,
#: graph and key maps under 1 KiB per template; 24 would add 128 bytes.
CONNECTIVITY = 16
#: Beam width while inserting (``efConstruction``): 64 rather than 128 roughly halves the
#: build's work on two cores; the search beam makes up the recall.
EXPANSION_ADD = 64
#: Beam width while searching (``ef``). Chosen on the workload of ``facegate bench search``
#: with the tuning seed (``--seed 1``) at 50,000 templates: recall@1 99.45% at 128, 99.95%
#: at 256, 100% at 384; 384 leaves headroom for larger galleries. Reports use other seeds.
EXPANSION_SEARCH = 384
#: Candidates re-scored exactly per search (or ``k`` when larger).
RERANK_CANDIDATES = 32
#: Rows of the first storage block; each later block doubles the capacity up to
#: :data:`MAX_BLOCK_ROWS` rows (32 MiB), so small sites hold little and rows never move.
FIRST_BLOCK_ROWS = 1024
MAX_BLOCK_ROWS = 65_536
#: Templates inserted per lock hold during a bulk :meth:`TemplateIndex.add`.
ADD_BATCH = 4096
_NO_KEY = -1


class TemplateIndex:
    """Templates keyed by int64 ids (template row ids) for 1:N search; memory only.

    >>> import numpy as np
    >>> index = TemplateIndex()
    >>> vectors = np.eye(128, dtype=np.float32)[:3]
    >>> index.add(np.array([10, 11, 12]), vectors)
    >>> keys, similarities = index.search(vectors[1], 2)
    >>> int(keys[0]), float(similarities[0]), len(index), 11 in index
    (11, 1.0, 3, True)
    >>> index.remove([11, 99]), 11 in index
    (1, False)
    """

    def __init__(self, dim: int = EMBEDDING_DIM, *, grow_graph: bool = True) -> None:
        """``grow_graph``: build the graph in the :meth:`add` that takes the index past
        :data:`EXACT_SEARCH_LIMIT`. False leaves it to :meth:`build_graph`, for callers
        that hold locks while adding (a gallery updated in a write transaction): building
        takes seconds at 20,000 templates."""
        if dim != EMBEDDING_DIM:
            raise ValueError(f"dim must be {EMBEDDING_DIM} (the score's), got {dim}")
        self._dim = dim
        self._lock = threading.Lock()
        #: Built when the index first grows past EXACT_SEARCH_LIMIT (``_grow_graph``).
        self._graph: Index | None = None
        self._grow_graph_on_add = grow_graph
        self._blocks: list[NDArray[np.float32]] = []
        self._block_starts: list[int] = []
        self._capacity = 0
        self._row_keys = np.zeros(0, dtype=np.int64)
        #: Squared length of each row, for exhaustive search without re-reading the rows.
        self._row_norms = np.zeros(0, dtype=np.float32)
        self._rows: dict[int, int] = {}
        self._free_rows: list[int] = []

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            return False
        return int(key) in self._rows

    @property
    def memory_bytes(self) -> int:
        """Bytes held for vectors and graph (for the benchmark).

        The vector blocks (allocated capacity), the graph as usearch counts it, the
        row→key array and the key→row dict with its int objects (an estimate).
        """
        with self._lock:
            vectors = sum(block.nbytes for block in self._blocks)
            key_map = sys.getsizeof(self._rows) + len(self._rows) * 2 * sys.getsizeof(2**40)
            free = sys.getsizeof(self._free_rows)
            graph = 0 if self._graph is None else self._graph.memory_usage
            rows = self._row_keys.nbytes + self._row_norms.nbytes
            return int(vectors + graph + rows + key_map + free)

    def add(self, keys: NDArray[np.int64], embeddings: NDArray[np.floating]) -> None:
        """Add templates; a key already present raises ValueError.

        Args:
            keys: ``(n,)`` integer template keys, unique and not yet in the index.
            embeddings: ``(n, 128)`` finite embeddings (stored as float32).

        Raises:
            ValueError: shapes disagree, a value is not finite, or a key repeats or is
                already present (then nothing is added).
        """
        key_array = np.asarray(keys)
        if key_array.ndim != 1 or not np.issubdtype(key_array.dtype, np.integer):
            raise ValueError(f"keys must be a 1-D integer array, got {key_array.dtype}")
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(key_array), self._dim):
            raise ValueError(
                f"embeddings must have shape ({len(key_array)}, {self._dim}), got {vectors.shape}"
            )
        if not np.all(np.isfinite(vectors)):
            raise ValueError("embeddings contain NaN or infinite values")
        key_list = [int(k) for k in key_array.astype(np.int64)]
        if len(set(key_list)) != len(key_list):
            raise ValueError("keys repeat within the batch")
        with self._lock:
            present = [k for k in key_list if k in self._rows]
            if present:
                raise ValueError(f"{len(present)} key(s) already in the index, e.g. {present[0]}")
            # Reserve every row first, so a batch never half-fails on a duplicate.
            self._reserve_rows(len(key_list))
            rows = [self._take_row(k) for k in key_list]
        for start in range(0, len(key_list), ADD_BATCH):
            with self._lock:
                batch = range(start, min(start + ADD_BATCH, len(key_list)))
                # A concurrent remove may have taken a reserved key back: skip its row.
                live = [i for i in batch if self._rows.get(key_list[i]) == rows[i]]
                for run in self._runs(live, rows):
                    first = rows[run[0]]
                    block = _block_of(self._block_starts, first)
                    offset = first - self._block_starts[block]
                    target = self._blocks[block][offset : offset + len(run)]
                    target[:] = vectors[run]
                    # Searchable from here on: the row now holds its vector.
                    self._row_keys[first : first + len(run)] = [key_list[i] for i in run]
                    norms = np.einsum("ij,ij->i", target, target)
                    self._row_norms[first : first + len(run)] = norms
                    if self._graph is not None:
                        # copy=False: the graph keeps a pointer to our rows (module doc).
                        self._graph.add(np.arange(first, first + len(run)), target, copy=False)
        if self._grow_graph_on_add:
            self.build_graph()

    def build_graph(self) -> None:
        """Build the graph if the index is past :data:`EXACT_SEARCH_LIMIT` and has none."""
        with self._lock:
            if self._graph is None and len(self._rows) > EXACT_SEARCH_LIMIT:
                self._grow_graph()

    def _grow_graph(self) -> None:
        """Build the graph over every live row (once, when the index outgrows exact search)."""
        graph = Index(
            ndim=self._dim,
            metric="l2sq",
            dtype="f32",
            connectivity=CONNECTIVITY,
            expansion_add=EXPANSION_ADD,
            expansion_search=EXPANSION_SEARCH,
        )
        rows = [int(row) for row in np.flatnonzero(self._row_keys != _NO_KEY)]
        for run in self._runs(list(range(len(rows))), rows):
            first = rows[run[0]]
            block = _block_of(self._block_starts, first)
            offset = first - self._block_starts[block]
            target = self._blocks[block][offset : offset + len(run)]
            graph.add(np.arange(first, first + len(run)), target, copy=False)
        self._graph = graph

    def remove(self, keys: Iterable[int]) -> int:
        """Remove templates (absent keys ignored); returns how many were removed.

        The row is zeroed in the same call, so the vector stays readable neither in the
        index nor in the graph's deleted node (R-23).
        """
        removed = 0
        with self._lock:
            for key in keys:
                row = self._rows.pop(int(key), None)
                if row is None:
                    continue
                if self._graph is not None:
                    self._graph.remove(row)
                self._row_view(row)[:] = 0.0
                self._row_keys[row] = _NO_KEY
                self._row_norms[row] = 0.0
                self._free_rows.append(row)
                removed += 1
        return removed

    def vectors(self, keys: Iterable[int]) -> NDArray[np.float32]:
        """Copies of the stored templates of ``keys``, ``(n, 128)`` float32, in order.

        Raises:
            KeyError: a key is not in the index.
        """
        with self._lock:
            rows = [self._rows[int(key)] for key in keys]
            if not rows:
                return np.zeros((0, self._dim), dtype=np.float32)
            return np.stack([self._row_view(row) for row in rows]).astype(np.float32, copy=True)

    def search(
        self, probe: NDArray[np.floating], k: int
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Up to k (key, similarity) pairs, best first.

        Similarities are exact (:func:`facegate.matching.score.score` on the stored float32
        vectors); the graph only proposes candidates. ``k <= 0`` or an empty index gives
        two empty arrays.

        Raises:
            ValueError: ``probe`` is not a finite ``(128,)`` vector.
        """
        query = np.asarray(probe, dtype=np.float32).reshape(-1)
        if query.shape != (self._dim,) or not np.all(np.isfinite(query)):
            raise ValueError(f"probe must be a finite ({self._dim},) vector")
        with self._lock:
            if k <= 0 or not self._rows:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
            wanted = max(k, RERANK_CANDIDATES)
            if self._graph is None:
                rows = self._exhaustive(query, wanted)
            else:
                exact = len(self._rows) <= EXACT_SEARCH_LIMIT
                # One query: one thread (a pool per call costs more than the walk).
                matches = self._graph.search(query, wanted, exact=exact, threads=1)
                rows = np.asarray(matches.keys, dtype=np.int64)
            if rows.size == 0:  # only keys whose batch is still being inserted
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
            candidates = np.stack([self._row_view(int(row)) for row in rows])
            keys = self._row_keys[rows]
        similarities = score(probe, candidates)[0]
        order = np.argsort(-similarities, kind="stable")[:k]
        return keys[order], similarities[order]

    def _exhaustive(self, query: NDArray[np.float32], wanted: int) -> NDArray[np.int64]:
        """The ``wanted`` live rows nearest to ``query`` by float32 distance, every row scored."""
        # Squared L2 without the probe's own norm (the score's order), every row at once;
        # free rows (zeros) are masked rather than copied out.
        distance = np.concatenate([block @ query for block in self._blocks])
        distance *= -2.0
        distance += self._row_norms
        distance[self._row_keys == _NO_KEY] = np.inf
        live = int(np.count_nonzero(np.isfinite(distance)))
        if live == 0:
            return np.zeros(0, dtype=np.int64)
        count = min(wanted, live)
        nearest = np.argpartition(distance, count - 1)[:count]
        return nearest.astype(np.int64)

    # --- rows -----------------------------------------------------------------------

    def _reserve_rows(self, count: int) -> None:
        while len(self._free_rows) < count:
            size = min(max(self._capacity, FIRST_BLOCK_ROWS), MAX_BLOCK_ROWS)
            self._blocks.append(np.zeros((size, self._dim), dtype=np.float32))
            self._block_starts.append(self._capacity)
            # New rows go under the free ones, so rows fill in order (long runs for add).
            self._free_rows[:0] = range(self._capacity + size - 1, self._capacity - 1, -1)
            self._capacity += size
            grown = np.full(self._capacity, _NO_KEY, dtype=np.int64)
            grown[: len(self._row_keys)] = self._row_keys
            self._row_keys = grown
            norms = np.zeros(self._capacity, dtype=np.float32)
            norms[: len(self._row_norms)] = self._row_norms
            self._row_norms = norms

    def _runs(self, positions: list[int], rows: list[int]) -> list[list[int]]:
        """``positions`` grouped so that each group's rows are consecutive in one block."""
        runs: list[list[int]] = []
        for position in positions:
            row = rows[position]
            if (
                runs
                and rows[runs[-1][-1]] + 1 == row
                and _block_of(self._block_starts, row)
                == _block_of(self._block_starts, rows[runs[-1][0]])
            ):
                runs[-1].append(position)
            else:
                runs.append([position])
        return runs

    def _take_row(self, key: int) -> int:
        # ``_row_keys`` is set when the vector is written (``add``): a reserved row is not
        # searchable yet.
        row = self._free_rows.pop()
        self._rows[key] = row
        return row

    def _row_view(self, row: int) -> NDArray[np.float32]:
        block = _block_of(self._block_starts, row)
        view: NDArray[np.float32] = self._blocks[block][row - self._block_starts[block]]
        return view


def _block_of(starts: list[int], row: int) -> int:
    # Few blocks (≤ 2 + n / MAX_BLOCK_ROWS): a bisection over their first rows.
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= row:
            low = middle
        else:
            high = middle - 1
    return low
