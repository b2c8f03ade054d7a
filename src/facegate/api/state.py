"""What one running app holds: the store, the face pipeline, liveness, metrics and rate limits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from facegate.api.liveness import GateLiveness
from facegate.api.metrics import Metrics
from facegate.api.ratelimit import RateLimiter
from facegate.bench.calibrate import CALIBRATION_FILE, apply_calibration
from facegate.core.config import Settings
from facegate.errors import RateLimitedError
from facegate.liveness.challenge import ChallengeIssuer
from facegate.models.registry import ModelRegistry
from facegate.models.site import apply_site_models
from facegate.store import Store
from facegate.vision.pipeline import FacePipeline, check_detector


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
    #: Devices with a face decision under way: one at a time each, so that one device
    #: cannot queue frame after frame in front of every other gate.
    _busy_devices: set[str] = field(default_factory=set)
    _busy_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # The site's own thresholds and models, both signed with its key: an edited file
        # stops the service here rather than changing decisions.
        data_dir, site_key = self.settings.data_dir, self.store.site_key
        registry = apply_calibration(self.registry, data_dir / CALIBRATION_FILE, site_key)
        self.registry = apply_site_models(registry, data_dir, site_key)
        # The pipeline loads on first use; a detector that cannot load fails at start-up.
        check_detector(self.registry, self.settings.detector)

    @property
    def pipeline(self) -> FacePipeline:
        """Built on first use: loading the models takes a second, card checks need none."""
        with self._lock:
            if self._pipeline is None:
                self._pipeline = FacePipeline.default(
                    self.registry, detector=self.settings.detector
                )
            return self._pipeline

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

    @property
    def liveness(self) -> GateLiveness:
        with self._lock:
            if self._liveness is None:
                self._liveness = GateLiveness(self.registry)
            return self._liveness
