"""Shared test helpers (imported relatively: ``from .helpers import ...``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facegate.privacy.notice_template import starter_notice
from facegate.store import EMBEDDING_DIM, SiteInfo, Store, SubjectInfo, SubjectKind

MODEL = "dlib_resnet_v1"
OPERATOR = "operator:li"
SITE_CODE = "sunny-garden"
NOTICE_VERSION = "2026-1"


def ready_site(store: Store, code: str = SITE_CODE, name: str = "Sunny Garden") -> SiteInfo:
    """A site where enrollment may open: a published notice and an impact assessment."""
    site = store.create_site(code, name, actor=OPERATOR)
    store.notices.publish(
        code,
        NOTICE_VERSION,
        starter_notice(name, "Sunny Property Co.", "front desk, 021-5555-0100"),
        actor=OPERATOR,
    )
    store.assessments.record(
        code,
        "Wang Assessor",
        "PIA of gate face recognition: necessity, risks, safeguards.",
        actor=OPERATOR,
    )
    return site


def random_embeddings(count: int, seed: int = 0) -> list[npt.NDArray[np.float32]]:
    """Random unit vectors standing in for face embeddings: float32, shape (128,) each."""
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return list(vectors)


def consented_subject(
    store: Store, site_code: str = SITE_CODE, name: str = "Zhang San"
) -> SubjectInfo:
    """An active resident with a recorded signature consent under the current notice."""
    subject = store.add_subject(site_code, name, SubjectKind.RESIDENT, actor=OPERATOR)
    version = store.notices.current(site_code).version
    store.consents.record(subject.id, version, "signature", "scan:consent-form", actor=OPERATOR)
    return store.get_subject(subject.id)


def enrolled_subject(
    store: Store, count: int = 3, seed: int = 0, name: str = "Zhang San"
) -> tuple[SubjectInfo, list[npt.NDArray[np.float32]]]:
    """A consented subject with ``count`` templates, and the embeddings it was enrolled with."""
    subject = consented_subject(store, name=name)
    vectors = random_embeddings(count, seed)
    store.enroll(subject.id, vectors, MODEL, [0.9] * count, OPERATOR)
    return store.get_subject(subject.id), vectors
