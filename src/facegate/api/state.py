"""What one running app holds: the store, the face runtime (registry, a pool of pipelines,
liveness), challenges, metrics and rate limits, the probe detector and the model watch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from facegate.api.live import LiveFeed
from facegate.api.metrics import Metrics
from facegate.api.ratelimit import Limit, RateLimiter
from facegate.core.config import Settings
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


@dataclass
class AppState:
    settings: Settings
    store: Store
    #: The packaged registry; the site's signed calibration and models go on top at start-up.
    registry: ModelRegistry
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    #: Outstanding challenges live in this process only, like the rate limits.
    challenges: ChallengeIssuer = field(default_factory=ChallengeIssuer)
    #: The console's live feed of decisions (this process's streams).
    live: LiveFeed = field(default_factory=LiveFeed)
    #: Devices probing the matcher with near-identical refused faces: this process's
    #: count only, like the rate limits (several workers each see their share).
    probes: ProbeDetector = field(default_factory=ProbeDetector)
    runtime: Runtime = field(init=False)
    #: Re-hashes the runtime registry's model files (the app's lifespan runs it on a timer).
    model_watch: ModelWatch = field(init=False)
    #: Devices with a face decision under way: one at a time each, so that one device
    #: cannot queue frame after frame in front of every other gate.
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
