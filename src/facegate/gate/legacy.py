"""Older engines' pipelines, for people whose templates only an older engine made.

Raw images are never kept, so a site that changes engine cannot re-embed anyone: until a
person enrolls again, the gate matches them with the engine of their templates. Those
pipelines load on first need (a site with no such templates never loads them), one per
engine, used under a lock (the models are not documented as thread-safe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from facegate.core.config import Engine
from facegate.errors import PipelineBusyError
from facegate.gate.pool import BUSY_RETRY_AFTER_SECONDS, DEFAULT_WAIT_SECONDS
from facegate.vision.pipeline import FacePipeline


class LegacyPipelines:
    def __init__(
        self,
        build: Callable[[Engine], FacePipeline],
        current: Engine,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
    ) -> None:
        self._build = build
        self._wait_seconds = wait_seconds
        self.engines = tuple(engine for engine in Engine if engine is not Engine(current))
        self._built: dict[Engine, FacePipeline] = {}
        self._locks = {engine: threading.Lock() for engine in self.engines}

    @contextmanager
    def borrow(self, engine: Engine) -> Iterator[FacePipeline]:
        """The engine's pipeline, for this caller alone; ``PipelineBusyError`` when it stays
        taken for the pool's wait (strangers' faces must not queue without bound)."""
        lock = self._locks[engine]
        if not lock.acquire(timeout=self._wait_seconds):
            raise PipelineBusyError(
                f"the {engine.value} engine's pipeline stayed busy for {self._wait_seconds:g} s; "
                "send the frame again shortly",
                BUSY_RETRY_AFTER_SECONDS,
            )
        try:
            pipeline = self._built.get(engine)
            if pipeline is None:
                pipeline = self._built[engine] = self._build(engine)
            yield pipeline
        finally:
            lock.release()
