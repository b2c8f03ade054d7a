"""What one running app holds: the store, the face runtime (registry, a pool of pipelines,
liveness), challenges, metrics and rate limits, the probe detector and the model watch.

With ``FACEGATE_SHARED_STATE=database`` (``facegate serve --workers N``) the rate limits
and outstanding challenges live in the database, shared by every worker; sessions and the
per-credential lock-out always do. What stays per process is named at its field.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from facegate.api.live import LiveFeed
from facegate.api.metrics import Metrics
from facegate.api.ratelimit import Limit, NoLimits, RateLimiter
from facegate.core.config import Settings, SharedState
from facegate.errors import RateLimitedError
from facegate.gate.decider import FaceDecider
from facegate.gate.liveness import GateLiveness, LivenessCheck
from facegate.gate.pool import PipelinePool
from facegate.gate.probe import ProbeDetector
from facegate.gate.runtime import Runtime, build_runtime
from facegate.liveness.challenge import ChallengeIssuer
from facegate.models.registry import ModelRegistry
from facegate.models.watch import ModelWatch
from facegate.store import Store
from facegate.store.shared_state import SharedChallenges, SharedRateLimits


@dataclass
class AppState:
    settings: Settings
    store: Store
    #: The packaged registry; the site's signed calibration and models go on top at start-up.
    registry: ModelRegistry
    metrics: Metrics = field(default_factory=Metrics)
    #: In memory, or in the database with ``shared_state=database`` (``__post_init__``).
    limiter: RateLimiter = field(default_factory=RateLimiter)
    #: Outstanding challenges: where the rate limits are.
    challenges: ChallengeIssuer = field(default_factory=ChallengeIssuer)
    #: The console's live feed of decisions: this process's streams and decisions only. A
    #: known limit with several workers: a console sees the decisions of the worker its
    #: stream landed on (the decision log, in the database, has them all).
    live: LiveFeed = field(default_factory=LiveFeed)
    #: Devices probing the matcher with near-identical refused faces: this process's
    #: count only. A known limit with several workers: each sees its share of a device's
    #: faces, so a probe spread over N workers takes up to N times as many faces to be
    #: noticed (the shared per-device face limit still bounds them all together).
    probes: ProbeDetector = field(default_factory=ProbeDetector)
    runtime: Runtime = field(init=False)
    #: Re-hashes the runtime registry's model files (the app's lifespan runs it on a timer).
    model_watch: ModelWatch = field(init=False)
    #: Devices with a face decision under way: one at a time each, so that one device
    #: cannot queue frame after frame in front of every other gate. Per process: with N
    #: workers a device can have up to N faces in flight (the shared limits still count them).
    _busy_devices: set[str] = field(default_factory=set)
    _busy_lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, limit: Limit, key: str, count: int = 1) -> None:
        """Count ``count`` events of ``key`` against ``limit``; over it, the refusal is
        counted in the metrics and ``RateLimitedError`` raised."""
        try:
            for _ in range(count):
                self.limiter.hit(limit, key)
        except RateLimitedError:
            self.metrics.rate_limited.labels(limit.name).inc()
            raise

    def __post_init__(self) -> None:
        if self.settings.shared_state is SharedState.DATABASE:
            # The wall clock: the one clock every worker's rows can be compared on.
            self.limiter = RateLimiter(clock=time.time, storage=SharedRateLimits(self.store))
            self.challenges = ChallengeIssuer(clock=time.time, storage=SharedChallenges(self.store))
        if not self.settings.rate_limits:
            # Challenges stay shared: only the counting is switched off.
            self.limiter = NoLimits()
        self.metrics.gallery_cached_subjects.set_function(
            lambda: len(self.store.cached_subject_ids())
        )
        # An edited calibration or model list, or a detector that cannot load, stops the
        # service here rather than changing decisions; the models themselves load on use.
        self.runtime = build_runtime(self.settings, self.store, base=self.registry)
        self.registry = self.runtime.registry
        self.model_watch = ModelWatch(self.registry)

    @property
    def pipelines(self) -> PipelinePool:
        """The face pipelines: each face borrows one (tests seed it with their own)."""
        return self.runtime.pipelines

    @property
    def liveness(self) -> GateLiveness:
        return self.runtime.liveness

    def decider(self, liveness: LivenessCheck | None = None) -> FaceDecider:
        """The face decider for one request (``liveness``: the route's checks)."""
        decider = self.runtime.decider(
            self.store,
            self.settings.max_image_pixels,
            liveness=liveness,
            challenges=self.challenges,
        )
        return replace(decider, probes=self.probes, models=self.model_watch)

    @contextmanager
    def face_turn(self, device_id: str) -> Iterator[None]:
        """Hold the device's one face slot; ``RateLimitedError`` while it is taken."""
        with self._busy_lock:
            if device_id in self._busy_devices:
                raise RateLimitedError(
                    "this device's previous face is still being decided; send the next "
                    "frame after its answer",
                    1,
                )
            self._busy_devices.add(device_id)
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy_devices.discard(device_id)
