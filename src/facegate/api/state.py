"""What one running app holds: the store, the face pipeline, liveness, metrics and rate limits."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from facegate.api.liveness import GateLiveness
from facegate.api.metrics import Metrics
from facegate.api.ratelimit import RateLimiter
from facegate.core.config import Settings
from facegate.liveness.challenge import ChallengeIssuer
from facegate.models.registry import ModelRegistry
from facegate.store import Store
from facegate.vision.pipeline import FacePipeline


@dataclass
class AppState:
    settings: Settings
    store: Store
    registry: ModelRegistry
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    #: Outstanding challenges live in this process only, like the rate limits.
    challenges: ChallengeIssuer = field(default_factory=ChallengeIssuer)
    _liveness: GateLiveness | None = None
    _pipeline: FacePipeline | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pipeline(self) -> FacePipeline:
        """Built on first use: loading the models takes a second, card checks need none."""
        with self._lock:
            if self._pipeline is None:
                self._pipeline = FacePipeline.default(self.registry)
            return self._pipeline

    @property
    def liveness(self) -> GateLiveness:
        with self._lock:
            if self._liveness is None:
                self._liveness = GateLiveness(self.registry)
            return self._liveness
