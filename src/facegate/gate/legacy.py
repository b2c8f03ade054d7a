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
from facegate.vision.pipeline import FacePipeline


class LegacyPipelines:
    def __init__(self, build: Callable[[Engine], FacePipeline], current: Engine) -> None:
        self._build = build
        self.engines = tuple(engine for engine in Engine if engine is not Engine(current))
        self._built: dict[Engine, FacePipeline] = {}
        self._locks = {engine: threading.Lock() for engine in self.engines}

    @contextmanager
    def borrow(self, engine: Engine) -> Iterator[FacePipeline]:
        with self._locks[engine]:
            pipeline = self._built.get(engine)
            if pipeline is None:
                pipeline = self._built[engine] = self._build(engine)
            yield pipeline
