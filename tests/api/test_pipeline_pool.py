"""Faces from different gates are decided side by side, one pipeline each: no global lock.

The pool is seeded with two slow pipelines whose detector only sleeps and hands back the
resident's face (precomputed with the real pipeline): two devices' frames overlap in
them, and a third frame that finds both busy past the wait gets 503 with Retry-After.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import replace

import numpy as np
from fastapi.testclient import TestClient
from httpx import Response
from numpy.typing import NDArray

from facegate.api.state import AppState
from facegate.gate.pool import PipelinePool
from facegate.store import Store
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline, Selection
from facegate.vision.record import Face
from tests.api.conftest import SITE, Setup
from tests.api.gate_helpers import decide_face, enrolled_resident, use_pipeline
from tests.store.helpers import OPERATOR

#: How long the slow detector takes: far longer than the rest of a decision.
SLOW_SECONDS = 0.8


class _SlowDetector:
    """Sleeps, notes when it ran, and finds the precomputed face; no model runs."""

    name = "slow"

    def __init__(self, face: Face, spans: list[tuple[float, float]]) -> None:
        self._face = face
        self._spans = spans

    def detect(self, image: RGBImage) -> list[Face]:
        started = time.monotonic()
        time.sleep(SLOW_SECONDS)
        self._spans.append((started, time.monotonic()))
        return [copy.deepcopy(self._face)]


class _EmbeddingModel:
    """The one stage: names the embedding model, so that the right gallery is read."""

    name = "embedding_model"

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def process(self, image: RGBImage, face: Face) -> None:
        return None


def _slow_pipelines(
    pipeline: FacePipeline, face_rgb: NDArray[np.uint8], spans: list[tuple[float, float]]
) -> tuple[FacePipeline, FacePipeline]:
    face = pipeline.subject(face_rgb, Selection.LARGEST)
    stages = [_EmbeddingModel(pipeline.embedding_model)]
    return (
        FacePipeline(_SlowDetector(face, spans), stages),
        FacePipeline(_SlowDetector(face, spans), stages),
    )


def _in_parallel(client: TestClient, keys: list[str], image: bytes) -> list[Response]:
    answers: dict[str, Response] = {}

    def present(key: str) -> None:
        answers[key] = decide_face(client, key, image)

    threads = [threading.Thread(target=present, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return [answers[key] for key in keys]


def test_two_devices_faces_are_decided_at_the_same_time_on_two_pipelines(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_rgb: NDArray[np.uint8],
    face_png: bytes,
) -> None:
    use_pipeline(client, pipeline)
    enrolled_resident(client, store, setup.device_key, face_png, SITE)
    second = store.devices.register(SITE, "Kiosk 2", ["main"], actor=OPERATOR).api_key
    spans: list[tuple[float, float]] = []
    use_pipeline(client, *_slow_pipelines(pipeline, face_rgb, spans))

    started = time.monotonic()
    answers = _in_parallel(client, [setup.device_key, second], face_png)
    elapsed = time.monotonic() - started

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert (answer.json()["outcome"], answer.json()["reason"]) == ("open", "ok")
    first, second_span = sorted(spans)
    assert second_span[0] < first[1], "the second face waited for the first: a global lock"
    assert elapsed < 2 * SLOW_SECONDS


def test_a_face_that_finds_every_pipeline_busy_past_the_wait_gets_503(
    client: TestClient,
    store: Store,
    setup: Setup,
    pipeline: FacePipeline,
    face_rgb: NDArray[np.uint8],
    face_png: bytes,
) -> None:
    state: AppState = use_pipeline(client, pipeline)
    enrolled_resident(client, store, setup.device_key, face_png, SITE)
    second = store.devices.register(SITE, "Kiosk 2", ["main"], actor=OPERATOR).api_key
    spans: list[tuple[float, float]] = []
    slow, _ = _slow_pipelines(pipeline, face_rgb, spans)
    pool = PipelinePool(lambda: slow, size=1, wait_seconds=SLOW_SECONDS / 4)
    pool.seed(slow)
    state.runtime = replace(state.runtime, pipelines=pool)

    answers = _in_parallel(client, [setup.device_key, second], face_png)

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 503]
    busy = next(answer for answer in answers if answer.status_code == 503)
    assert busy.json()["error"]["code"] == "pipeline_busy"
    assert busy.headers["retry-after"] == "1"
    assert len(spans) == 1
