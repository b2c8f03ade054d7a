"""Similarity scores between embeddings. Scores are not decisions: see ``decide``.

Score convention: ``similarity = 1 - euclidean_distance``. dlib's ResNet was trained so
that distances below 0.6 mean the same person, i.e. similarity above 0.4. Higher is more
alike; the range is about [-0.5, 1] for dlib embeddings.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from facegate.vision.record import EMBEDDING_DIM


def _as_matrix(vectors: NDArray[np.floating], name: str) -> NDArray[np.float64]:
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[np.newaxis, :]
    if matrix.ndim != 2 or matrix.shape[1] != EMBEDDING_DIM:
        raise ValueError(f"{name} must have shape (n, {EMBEDDING_DIM}), got {np.shape(vectors)}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return matrix


def score(probes: NDArray[np.floating], references: NDArray[np.floating]) -> NDArray[np.float64]:
    """Similarity of every probe to every reference.

    Args:
        probes: ``(n, 128)`` or ``(128,)`` embeddings.
        references: ``(m, 128)`` or ``(128,)`` embeddings.

    Returns:
        ``(n, m)`` float64 similarities (``1 - euclidean distance``); ``(n, 0)`` when there
        are no references.

    >>> import numpy as np
    >>> a = np.zeros(128); b = np.zeros(128); b[0] = 0.3
    >>> float(score(a, b)[0, 0])
    0.7
    """
    p = _as_matrix(probes, "probes")
    if np.size(references) == 0:
        return np.zeros((p.shape[0], 0), dtype=np.float64)
    r = _as_matrix(references, "references")
    squared = (
        np.sum(p * p, axis=1)[:, np.newaxis] + np.sum(r * r, axis=1)[np.newaxis, :] - 2.0 * p @ r.T
    )
    similarity: NDArray[np.float64] = 1.0 - np.sqrt(np.maximum(squared, 0.0))
    return similarity
