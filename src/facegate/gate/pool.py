"""A small pool of face pipelines: each used by one caller at a time, several side by side.

dlib's and OpenCV's models are not documented as thread-safe, so one pipeline never runs
two frames at once; separate pipelines (each with its own loaded models) do run together,
so two gates' faces need not queue behind one lock. Pipelines are built on first use (a
card check needs none), at most ``size`` of them.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from facegate.errors import PipelineBusyError
from facegate.vision.pipeline import FacePipeline

#: Seconds a caller waits for an idle pipeline before being told to come back.
DEFAULT_WAIT_SECONDS = 5.0
#: The ``Retry-After`` of a caller that waited in vain: a gate sends its next frame soon.
BUSY_RETRY_AFTER_SECONDS = 1


class PipelinePool:
    """Up to ``size`` pipelines made by ``build``; :meth:`borrow` lends one to one caller.

    >>> pool = PipelinePool(FacePipeline.default, size=2)   # doctest: +SKIP
    >>> with pool.borrow() as pipeline:                      # doctest: +SKIP
    ...     face = pipeline.subject(image, Selection.LARGEST)

    Raises ``ValueError`` for ``size < 1`` or a wait that is not positive.
    """

    def __init__(
        self,
        build: Callable[[], FacePipeline],
        size: int,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        if not wait_seconds > 0:
            raise ValueError(f"wait_seconds must be positive, got {wait_seconds}")
        self._build = build
        self._size = size
        self._wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._idle: queue.Queue[FacePipeline] = queue.Queue()
        self._built = 0

    @property
    def size(self) -> int:
        """The most pipelines this pool holds (and so the most faces decided at once)."""
        return self._size

    def seed(self, *pipelines: FacePipeline) -> None:
        """Use exactly ``pipelines`` from now on, building none (tests hand in the session's
        pipeline, or slow fakes). Give distinct objects: each is lent to one caller at a
        time. Call while nothing is borrowed."""
        if not pipelines:
            raise ValueError("pipelines: seed the pool with at least one")
        if len({id(p) for p in pipelines}) != len(pipelines):
            raise ValueError("pipelines: the same pipeline twice would run two frames at once")
        idle: queue.Queue[FacePipeline] = queue.Queue()
        for pipeline in pipelines:
            idle.put(pipeline)
        with self._lock:
            self._idle, self._size, self._built = idle, len(pipelines), len(pipelines)

    def warm(self) -> None:
        """Build every pipeline now (start-up), not during the first faces."""
        with self.borrow():
            pass  # at least one: a model file that fails its check fails here
        while True:
            with self._lock:
                if self._built >= self._size:
                    return
                self._built += 1
            self._add_built()

    @contextmanager
    def borrow(self) -> Iterator[FacePipeline]:
        """One pipeline, for the caller alone until the block ends.

        Raises:
            PipelineBusyError: none came free within the wait (every one is deciding).
            ModelError: building a pipeline failed (e.g. a model file's hash differs).
        """
        idle, pipeline = self._take()
        try:
            yield pipeline
        finally:
            # Back to the queue it came from: a pool seeded meanwhile does not get it.
            idle.put(pipeline)

    def _take(self) -> tuple[queue.Queue[FacePipeline], FacePipeline]:
        with self._lock:
            idle = self._idle
            try:
                return idle, idle.get_nowait()
            except queue.Empty:
                pass
            may_build = self._built < self._size
            if may_build:
                self._built += 1
        if may_build:
            return idle, self._build_counted()
        try:
            return idle, idle.get(timeout=self._wait_seconds)
        except queue.Empty:
            raise PipelineBusyError(
                f"all {self._size} face pipelines stayed busy for {self._wait_seconds:g} s; "
                "send the frame again shortly",
                BUSY_RETRY_AFTER_SECONDS,
            ) from None

    def _add_built(self) -> None:
        pipeline = self._build_counted()
        with self._lock:
            self._idle.put(pipeline)

    def _build_counted(self) -> FacePipeline:
        """``build()``, giving its slot back when it fails (the next caller tries again)."""
        try:
            return self._build()
        except BaseException:
            with self._lock:
                self._built -= 1
            raise
