"""Shared test helpers (imported relatively: ``from .helpers import ...``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facegate.store import EMBEDDING_DIM, Store, SubjectInfo, SubjectKind

MODEL = "dlib_resnet_v1"
OPERATOR = "operator:li"
SITE_CODE = "sunny-garden"


def random_embeddings(count: int, seed: int = 0) -> list[npt.NDArray[np.float32]]:
    """Random unit vectors standing in for face embeddings: float32, shape (128,) each."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return list(vectors)


def consented_subject(
    store: Store, site_code: str = SITE_CODE, name: str = "Zhang San"
) -> SubjectInfo:
    """An active resident with a recorded signature consent."""
    subject = store.add_subject(site_code, name, SubjectKind.RESIDENT, actor=OPERATOR)
    store.record_consent(subject.id, "notice-v1", "signature", name, actor=OPERATOR)
    return store.get_subject(subject.id)


def enrolled_subject(
    store: Store, count: int = 3, seed: int = 0, name: str = "Zhang San"
) -> tuple[SubjectInfo, list[npt.NDArray[np.float32]]]:
    """A consented subject with ``count`` templates, and the embeddings it was enrolled with."""
    subject = consented_subject(store, name=name)
    vectors = random_embeddings(count, seed)
    store.enroll(subject.id, vectors, MODEL, [0.9] * count, OPERATOR)
    return store.get_subject(subject.id), vectors
