"""The pipeline pool: one caller per pipeline, several pipelines at once, a bounded wait."""

from __future__ import annotations

import threading
import time

import pytest

from facegate.errors import ModelIntegrityError, PipelineBusyError
from facegate.gate.pool import BUSY_RETRY_AFTER_SECONDS, PipelinePool
from facegate.vision.image import RGBImage
from facegate.vision.pipeline import FacePipeline
from facegate.vision.record import Face


class _Blind:
    """A detector that finds nothing: pipelines here are only lent, never run."""

    name = "blind"

    def detect(self, image: RGBImage) -> list[Face]:
        return []


class _Factory:
    """Builds cheap pipelines and counts them; fails the first ``failures`` builds."""

    def __init__(self, failures: int = 0) -> None:
        self.built: list[FacePipeline] = []
        self.failures = failures

    def __call__(self) -> FacePipeline:
        if self.failures:
            self.failures -= 1
            raise ModelIntegrityError("model 'x': SHA-256 differs")
        pipeline = FacePipeline(_Blind(), [])
        self.built.append(pipeline)
        return pipeline


def test_pipelines_are_built_on_first_use_and_lent_one_caller_at_a_time() -> None:
    factory = _Factory()
    pool = PipelinePool(factory, size=2, wait_seconds=0.1)
    assert factory.built == []  # a card check needs no models
    with pool.borrow() as first, pool.borrow() as second:
        assert first is not second
        assert factory.built == [first, second]
    with pool.borrow() as again:
        assert again in (first, second)
    assert len(factory.built) == 2


def test_a_caller_waits_for_a_free_pipeline_then_is_told_to_retry() -> None:
    pool = PipelinePool(_Factory(), size=1, wait_seconds=0.2)
    with pool.borrow() as held:
        started = time.monotonic()
        with pytest.raises(PipelineBusyError) as refused, pool.borrow():
            pass
        assert 0.2 <= time.monotonic() - started < 2.0
        assert refused.value.retry_after == BUSY_RETRY_AFTER_SECONDS
        assert refused.value.code == "pipeline_busy"

    # A pipeline handed back during the wait goes to the waiting caller.
    pool = PipelinePool(_Factory(), size=1, wait_seconds=5.0)
    got: list[FacePipeline] = []
    with pool.borrow() as held:
        waiter = threading.Thread(target=lambda: got.append(_borrow_once(pool)))
        waiter.start()
        time.sleep(0.1)
    waiter.join(timeout=5)
    assert got == [held]


def _borrow_once(pool: PipelinePool) -> FacePipeline:
    with pool.borrow() as pipeline:
        return pipeline


def test_a_failed_build_gives_its_slot_back() -> None:
    factory = _Factory(failures=1)
    pool = PipelinePool(factory, size=1, wait_seconds=0.1)
    with pytest.raises(ModelIntegrityError), pool.borrow():
        pass
    with pool.borrow() as pipeline:  # not "busy": the failed build holds nothing
        assert factory.built == [pipeline]


def test_seed_and_warm() -> None:
    factory = _Factory()
    pool = PipelinePool(factory, size=3, wait_seconds=0.1)
    pool.warm()
    assert len(factory.built) == 3
    given = FacePipeline(_Blind(), [])
    pool.seed(given)
    assert pool.size == 1
    with pool.borrow() as pipeline:
        assert pipeline is given
        with pytest.raises(PipelineBusyError), pool.borrow():
            pass
    assert len(factory.built) == 3  # a seeded pool builds nothing


@pytest.mark.parametrize(("size", "wait", "match"), [(0, 1.0, "size"), (1, 0.0, "wait_seconds")])
def test_bad_sizes_are_refused(size: int, wait: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PipelinePool(_Factory(), size=size, wait_seconds=wait)


def test_a_seed_must_be_distinct_pipelines() -> None:
    pool = PipelinePool(_Factory(), size=1)
    one = FacePipeline(_Blind(), [])
    with pytest.raises(ValueError, match="at least one"):
        pool.seed()
    with pytest.raises(ValueError, match="twice"):
        pool.seed(one, one)
